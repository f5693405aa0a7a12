import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { ConfigError } from '../../errors.js'

const run = promisify(execFile)

export interface SystemUser {
  readonly uid: number
  readonly gid: number
}

const USER = 'postgres'

/**
 * The user PostgreSQL runs as when Gilgal runs as root: the machine's `postgres` user if it has one
 * (a Debian PostgreSQL package made it), otherwise a system user created for it, with no home and no
 * login shell.
 */
export async function ensurePostgresUser(): Promise<SystemUser> {
  const found = await lookUp()
  if (found) return found
  try {
    await run('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      USER,
    ])
  } catch (error) {
    // Two processes may race to create it: the loser finds it now.
    const raced = await lookUp()
    if (raced) return raced
    throw new ConfigError(
      `as root, embedded PostgreSQL runs as the user "${USER}", which does not exist and could not be ` +
        `created (useradd: ${lastLine(error)}); create it, or set DATABASE_URL`,
    )
  }
  const created = await lookUp()
  if (!created) throw new ConfigError(`useradd created no user "${USER}"`)
  return created
}

async function lookUp(): Promise<SystemUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', USER]), run('id', ['-g', USER])])
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
  } catch {
    return undefined
  }
}

function lastLine(error: unknown): string {
  const { stderr, message } = error as { stderr?: string; message: string }
  return (stderr || message).trim().split('\n').pop() ?? ''
}
