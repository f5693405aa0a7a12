import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { waitFor } from './wait.js'

/** The built command, as the package's `bin` runs it (test/run.ts builds it first). */
const BIN = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Where a test's `gilgal` talks to, and keeps its credentials. */
export interface CliEnv {
  url: string
  configDir: string
  token?: string
}

export interface RunningCli {
  child: ChildProcess
  stdout(): string
  stderr(): string
  exited: Promise<CliResult>
}

/** Starts `gilgal ARGS` with only the variables a user would set, `stdin` written and closed. */
export function startCli(args: string[], env: CliEnv, stdin = ''): RunningCli {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('GILGAL_') && name !== 'DATABASE_URL'),
  )
  const child = spawn(process.execPath, [BIN, ...args], {
    env: {
      ...base,
      GILGAL_URL: env.url,
      GILGAL_CONFIG_DIR: env.configDir,
      ...(env.token ? { GILGAL_TOKEN: env.token } : {}),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdin!.end(stdin)
  const exited = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  )
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

/** Runs `gilgal ARGS` to its end. */
export function gilgal(args: string[], env: CliEnv, stdin = ''): Promise<CliResult> {
  return startCli(args, env, stdin).exited
}

/** Waits until a running command has printed `pattern`, or fails with what it printed. */
export async function waitForOutput(cli: RunningCli, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    `gilgal to print ${pattern} (printed: ${cli.stdout().slice(-300)} ${cli.stderr().slice(-300)})`,
    async () => (pattern.test(cli.stdout()) ? true : undefined),
    { timeoutMs },
  )
}

/** An app listening on a free loopback port, and a config directory of its own for the CLI. */
export async function serveForCli(app: FastifyInstance): Promise<CliEnv & { close(): Promise<void> }> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const configDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-cli-'))
  return {
    url: `http://127.0.0.1:${port}`,
    configDir,
    async close() {
      await app.close()
      await rm(configDir, { recursive: true, force: true })
    },
  }
}
