import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { RoutingOptions } from '../../src/reconcilers/routes/render.js'
import { createCaddyAdmin, type ProxyAdmin } from '../../src/runtime/caddy.js'
import { freePort } from './net.js'
import { waitFor } from './wait.js'

/** A Caddy of the test's own: its admin API and HTTP port on free loopback ports. */
export interface TestCaddy {
  admin: ProxyAdmin
  adminUrl: string
  httpPort: number
  httpsPort: number
  /** Routing to this Caddy as a laptop has it: base domain `localhost`, plain HTTP. */
  routing: RoutingOptions
  /** Stops Caddy and starts it again with nothing but its admin API (as a fresh `caddy run`). */
  restartEmpty(): Promise<void>
  stop(): Promise<void>
}

/** Routing tests need Caddy: they fail (never skip) without it. CI installs Debian's `caddy`. */
export function assertCaddyInstalled(): void {
  const found = spawnSync('caddy', ['version'], { encoding: 'utf8' })
  if (found.error || found.status !== 0)
    throw new Error('routing tests need caddy on PATH (apt-get install caddy); none was found')
}

export async function startCaddy(): Promise<TestCaddy> {
  assertCaddyInstalled()
  const home = await mkdtemp(path.join(os.tmpdir(), 'gilgal-caddy-'))
  const [adminPort, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()]
  const adminUrl = `http://127.0.0.1:${adminPort}`
  const configFile = path.join(home, 'caddy.json')
  await writeFile(configFile, JSON.stringify({ admin: { listen: `127.0.0.1:${adminPort}` } }))
  const admin = createCaddyAdmin(adminUrl)
  let child: ChildProcess | undefined
  let output = ''
  const start = async () => {
    child = spawn('caddy', ['run', '--config', configFile], {
      env: { ...process.env, HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    await waitFor(`caddy's admin API at ${adminUrl} (output: ${output.slice(-500)})`, async () =>
      (await admin.readConfig()) ? true : undefined,
    )
  }
  const stop = async () => {
    const running = child
    if (!running || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGTERM')
    await exited
  }
  await start()
  return {
    admin,
    adminUrl,
    httpPort,
    httpsPort,
    routing: { baseDomain: 'localhost', httpPort, httpsPort, tls: 'off' },
    async restartEmpty() {
      await stop()
      await start()
    },
    async stop() {
      await stop()
      await rm(home, { recursive: true, force: true })
    },
  }
}
