import { spawn, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url))
// By URL, not by name: a script may run in another working directory, where `tsx` resolves to nothing.
const tsxLoader = import.meta.resolve('tsx')

export interface GilgalProcess {
  readonly child: ChildProcess
  /** Everything written to stdout and stderr so far. */
  output(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * Runs the real `gilgal` command (from source, through tsx) with exactly `env` on top of a clean
 * environment: the test runner's DATABASE_URL and GILGAL_* variables are not inherited, and it runs
 * in the temporary directory, where no developer's `.env` is read (unless `as.cwd` says otherwise).
 */
export function runGilgal(args: string[], env: Record<string, string>): GilgalProcess {
  // Its own instance label: its controller sees (and garbage-collects) only its own Docker objects.
  return runScript(cli, args, {
    GILGAL_INSTANCE: `t-${process.env.GILGAL_TEST_RUN_ID ?? 'x'}-${process.pid}`,
    ...env,
  })
}

/** Runs a TypeScript file the same way, with the same clean environment. */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  as: { cwd?: string; uid?: number; gid?: number; loader?: string } = {},
): GilgalProcess {
  const base = Object.fromEntries(
    // NODE_TEST_CONTEXT would make a test runner started by the script think it is nested in ours.
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('GILGAL_') && !['DATABASE_URL', 'NODE_TEST_CONTEXT'].includes(name),
    ),
  )
  const { loader = tsxLoader, cwd = os.tmpdir(), ...spawnAs } = as
  const child = spawn(process.execPath, ['--import', loader, script, ...args], {
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd,
    ...spawnAs,
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, output: () => output, exited }
}

/** Resolves with the exit, or rejects (and kills the process) after `timeoutMs`. */
export async function exitWithin(
  gilgal: GilgalProcess,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      gilgal.child.kill('SIGKILL')
      reject(new Error(`gilgal did not exit within ${timeoutMs} ms; output:\n${gilgal.output()}`))
    }, timeoutMs)
  })
  return Promise.race([gilgal.exited, timeout]).finally(() => clearTimeout(timer))
}
