import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import path from 'node:path'
import type { SourceTree } from './detect.js'
import { SourceError } from './errors.js'

// Detection reads manifests (package.json, requirements.txt), never anything large.
const MAX_READ_BYTES = 1024 * 1024

function isInside(root: string, target: string): boolean {
  return target === root || target.startsWith(`${root}${path.sep}`)
}

function leaves(what: string): SourceError {
  return new SourceError(`${what} leaves the repository (through a symbolic link)`, 'GILGAL_SOURCE_REFUSED')
}

/**
 * The directory of `subpath` in a checkout, as the filesystem resolves it: a repository may hold
 * symbolic links, and one on the way (`up -> /etc`, path `up/x`) would make the build context a
 * host directory. Refused unless it stays inside the checkout and is a directory.
 */
export async function sourceDirectory(workspace: string, subpath: string): Promise<string> {
  const root = await realpath(workspace)
  const resolved = await realpath(path.resolve(root, subpath)).catch(() => undefined)
  if (resolved === undefined)
    throw new SourceError(`path ${subpath} does not exist in the repository`, 'GILGAL_SOURCE_REFUSED')
  if (!isInside(root, resolved)) throw leaves(`path ${subpath}`)
  if (!(await stat(resolved)).isDirectory())
    throw new SourceError(`path ${subpath} is not a directory`, 'GILGAL_SOURCE_REFUSED')
  return resolved
}

/**
 * A checkout's files as a SourceTree. A file is read only when it resolves inside `root` (a link to
 * a host file is refused, not followed) and is a regular file; absent files read as undefined. At
 * most 1 MiB is read of any file.
 */
export function directoryTree(root: string): SourceTree {
  const base = realpathSync(root)
  return {
    read(file) {
      let resolved: string
      try {
        resolved = realpathSync(path.resolve(base, file))
      } catch {
        return undefined
      }
      if (!isInside(base, resolved)) throw leaves(file)
      const fd = openSync(resolved, 'r')
      try {
        if (!fstatSync(fd).isFile()) return undefined
        const buffer = Buffer.alloc(MAX_READ_BYTES)
        const length = readSync(fd, buffer, 0, MAX_READ_BYTES, 0)
        return buffer.subarray(0, length).toString('utf8')
      } finally {
        closeSync(fd)
      }
    },
  }
}
