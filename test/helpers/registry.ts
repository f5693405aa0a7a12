import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import bcrypt from 'bcryptjs'
import { freePort } from './net.js'
import { waitFor } from './wait.js'

const BINARY = '/usr/bin/docker-registry'

export interface TestRegistry {
  /** host:port, on loopback (which the engine treats as an insecure registry: plain HTTP is fine). */
  host: string
  /** GET on the registry's HTTP API as `user`. */
  get(pathname: string, user?: { username: string; password: string }, accept?: string): Promise<Response>
  stop(): Promise<void>
}

/**
 * A real registry v2 (Debian's docker-registry package) on a free loopback port (or `address`), with
 * htpasswd auth for `users` (none without any), storing under a temporary directory.
 */
export async function startRegistry(
  users: Record<string, string>,
  { address }: { address?: string } = {},
): Promise<TestRegistry> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: apt-get install -y docker-registry`)
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-registry-'))
  const htpasswd = Object.entries(users).map(([name, password]) => `${name}:${bcrypt.hashSync(password, 5)}`)
  await writeFile(path.join(dir, 'htpasswd'), `${htpasswd.join('\n')}\n`)
  const host = address ?? `127.0.0.1:${await freePort()}`
  const auth = Object.keys(users).length > 0
  await writeFile(
    path.join(dir, 'config.yml'),
    JSON.stringify({
      version: 0.1,
      log: { level: 'error' },
      storage: { filesystem: { rootdirectory: path.join(dir, 'data') } },
      http: { addr: host, secret: 'gilgal-test' },
      ...(auth ? { auth: { htpasswd: { realm: 'gilgal-test', path: path.join(dir, 'htpasswd') } } } : {}),
    }),
  )
  const child = spawn(BINARY, ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  const get = (pathname: string, user?: { username: string; password: string }, accept?: string) =>
    fetch(`http://${host}${pathname}`, {
      headers: {
        ...(user ? { authorization: `Basic ${btoa(`${user.username}:${user.password}`)}` } : {}),
        ...(accept ? { accept } : {}),
      },
    })
  const answers = auth ? 401 : 200
  await waitFor(`the registry to answer at ${host}`, async () =>
    (await get('/v2/')).status === answers ? true : undefined,
  )
  return {
    host,
    get,
    async stop() {
      child.kill()
      await exited
      await rm(dir, { recursive: true, force: true })
    },
  }
}
