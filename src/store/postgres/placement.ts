import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { chmod, chown, lstat, mkdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { ConfigError } from '../../errors.js'
import type { SystemUser } from './system-user.js'

/**
 * Where Gilgal keeps, as root, what the database user must reach and a home directory would hide:
 * clusters and the binaries. A directory of its own, owned by root, outside any data directory, so
 * no other user can have prepared a link for root to follow.
 */
export const SYSTEM_EMBEDDED_DIR = '/var/lib/gilgal-postgres'

/**
 * The requested directory, unless running as root below a directory other users cannot traverse:
 * then one of its own under SYSTEM_EMBEDDED_DIR, named after the requested path (readable, and a
 * hash so two checkouts never share a cluster).
 */
export async function placeCluster(dir: string, asRoot: boolean): Promise<string> {
  const requested = path.resolve(dir)
  if (!asRoot || (await firstHiddenAncestor(requested)) === undefined) return requested
  const readable = requested.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')
  const tail = readable.length > 48 ? readable.slice(-48).replace(/^[^-]*-/, '') : readable
  const digest = createHash('sha256').update(requested).digest('hex').slice(0, 10)
  return path.join(SYSTEM_EMBEDDED_DIR, `${tail}-${digest}`)
}

/** Creates SYSTEM_EMBEDDED_DIR (0755 whatever the umask), and refuses one another user could change. */
export async function ensureSystemDirectory(): Promise<void> {
  await mkdir(SYSTEM_EMBEDDED_DIR, { recursive: true })
  const info = await lstat(SYSTEM_EMBEDDED_DIR)
  if (!info.isDirectory() || info.uid !== 0 || (info.mode & 0o022) !== 0)
    throw new ConfigError(`${SYSTEM_EMBEDDED_DIR} must be a directory owned by root that only root can write`)
  await chmod(SYSTEM_EMBEDDED_DIR, 0o755)
  const hidden = await firstHiddenAncestor(path.join(SYSTEM_EMBEDDED_DIR, 'cluster'))
  if (hidden)
    throw new ConfigError(`the postgres user cannot traverse ${hidden}: chmod o+x it, or set DATABASE_URL`)
}

/** initdb wants an empty directory owned by the user it runs as, mode 0700. */
export async function prepareClusterDirectory(dir: string, runAs: SystemUser | undefined): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const info = await lstat(dir)
  if (!info.isDirectory()) throw new ConfigError(`${dir} must be a directory`)
  await chmod(dir, 0o700)
  if (runAs) await chown(dir, runAs.uid, runAs.gid)
}

/** Every existing ancestor of `target` is searchable by "others", the only bits another user is sure to get. */
export async function isReachableByOthers(target: string): Promise<boolean> {
  return (await firstHiddenAncestor(target)) === undefined
}

/** The first ancestor of `target` (not itself: it may be private) that others cannot traverse, if any. */
export async function firstHiddenAncestor(target: string): Promise<string | undefined> {
  const chain: string[] = []
  for (let current = path.dirname(path.resolve(target)); ; current = path.dirname(current)) {
    chain.unshift(current)
    if (current === path.dirname(current)) break
  }
  for (const current of chain) {
    const info = await stat(current).catch(() => undefined)
    if (info === undefined) return undefined // created later, and checked then (ensureSystemDirectory)
    if ((info.mode & constants.S_IXOTH) === 0) return current
  }
  return undefined
}
