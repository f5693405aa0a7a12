import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** What `gilgal login` keeps for one server: a session (tokens) or an API key. */
export interface Credentials {
  username?: string
  accessToken?: string
  refreshToken?: string
  apiKey?: string
}

type Store = Record<string, Credentials>

/** `$GILGAL_CONFIG_DIR`, else `$XDG_CONFIG_HOME/gilgal`, else `~/.config/gilgal`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GILGAL_CONFIG_DIR) return env.GILGAL_CONFIG_DIR
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'gilgal')
}

const fileOf = (dir: string) => path.join(dir, 'credentials.json')

async function readStore(dir: string): Promise<Store> {
  try {
    return JSON.parse(await readFile(fileOf(dir), 'utf8')) as Store
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new Error(`cannot read ${fileOf(dir)}: ${(error as Error).message}`, { cause: error })
  }
}

/** The credentials kept for the server at `url`, if any. */
export async function readCredentials(dir: string, url: string): Promise<Credentials | undefined> {
  return (await readStore(dir))[url]
}

/**
 * Keeps (or, with `undefined`, forgets) the credentials for `url`. The file is readable by its owner
 * only (0600, in a 0700 directory) and replaced whole by a rename, so a crash never leaves half of it.
 */
export async function writeCredentials(
  dir: string,
  url: string,
  credentials: Credentials | undefined,
): Promise<void> {
  const store = await readStore(dir)
  if (credentials) store[url] = credentials
  else delete store[url]
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const temporary = `${fileOf(dir)}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 })
  await chmod(temporary, 0o600)
  await rename(temporary, fileOf(dir))
}
