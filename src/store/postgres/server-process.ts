import { spawn, type ChildProcess } from 'node:child_process'
import { chmod, mkdtemp, open, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Logger } from '../../log.js'
import type { PostgresBinaries } from './binaries.js'
import type { SystemUser } from './system-user.js'

export interface ClusterProcessOptions {
  readonly binaries: PostgresBinaries
  readonly dataDir: string
  /** Set when running as root: PostgreSQL refuses root, so it runs as this user. */
  readonly runAs: SystemUser | undefined
  readonly log: Logger
}

// Enough of PostgreSQL's output to explain a failure in one line (the last five are quoted).
const RECENT_LINES = 20

/** `initdb`: a new cluster whose superuser `postgres` has `password`, UTF-8, the C locale. */
export async function initCluster(command: ClusterProcessOptions, password: string): Promise<void> {
  const { binaries, dataDir, runAs } = command
  // initdb reads the password from a file only the database user can read, deleted right after. The
  // directory stays root's (0711): that user can read the file but never swap it for a link.
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'gilgal-initdb-'))
  const passwordFile = path.join(scratch, 'password')
  try {
    await chmod(scratch, 0o711)
    const file = await open(passwordFile, 'wx', 0o600)
    try {
      await file.writeFile(`${password}\n`)
      if (runAs) await file.chown(runAs.uid, runAs.gid)
    } finally {
      await file.close()
    }
    const args = [`--pgdata=${dataDir}`, '--auth=scram-sha-256', '--username=postgres']
    args.push(`--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C')
    const initdb = spawnAs(path.join(binaries.binDir, 'initdb'), args, runAs)
    const output = collectOutput(initdb, command.log)
    const code = await new Promise<number | null>((resolve, reject) => {
      initdb.once('error', reject).once('close', resolve)
    })
    if (code !== 0) throw new Error(`initdb exited with ${code}: ${output.slice(-5).join(' | ')}`)
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

export interface ServerProcess {
  readonly pid: number
  /** Fast shutdown (SIGINT: open sessions are ended), and waits until the server is gone. */
  stop(): Promise<void>
  /** Synchronous, for the process `exit` handler: asks the server to stop, without waiting. */
  signalStop(): void
}

/**
 * Runs `postgres` on 127.0.0.1:`port` with no Unix socket (two clusters never meet in /tmp) until it
 * says it accepts connections. It gets a process group of its own: a Ctrl-C in the terminal reaches
 * Gilgal, which drains its requests and stops PostgreSQL last, not PostgreSQL first.
 */
export async function startServerProcess(
  command: ClusterProcessOptions,
  port: number,
  timeoutMs: number,
): Promise<ServerProcess> {
  const args = ['-D', command.dataDir, '-p', String(port)]
  args.push('-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=')
  const child = spawnAs(path.join(command.binaries.binDir, 'postgres'), args, command.runAs, true)
  const output = collectOutput(child, command.log)
  let stopping = false
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  void exited.then(() => {
    if (!stopping) command.log.error({ lines: output.slice(-5) }, 'embedded postgres exited on its own')
  })
  // A slow start (crash recovery) is asked to stop, not killed: a kill would lose the recovery's work.
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGINT')
  }, timeoutMs)
  await new Promise<void>((resolve, reject) => {
    const onOutput = (chunk: Buffer) => {
      if (chunk.toString().includes('database system is ready to accept connections')) resolve()
    }
    child.stderr!.on('data', onOutput)
    child.once('error', reject)
    void exited.then(() => {
      const why = timedOut ? `not ready after ${timeoutMs / 1000} s` : output.slice(-5).join(' | ')
      reject(new Error(why || 'postgres exited at start'))
    })
  }).finally(() => clearTimeout(timer))
  return {
    pid: child.pid!,
    signalStop: () => void child.kill('SIGINT'),
    async stop() {
      stopping = true
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
      await exited
    },
  }
}

function spawnAs(file: string, args: string[], runAs: SystemUser | undefined, detached = false) {
  const env = { ...process.env, LC_MESSAGES: 'C' }
  return spawn(file, args, { env, detached, stdio: ['ignore', 'pipe', 'pipe'], ...(runAs ?? {}) })
}

/** Keeps the last lines for error messages and logs every line at debug. */
function collectOutput(child: ChildProcess, log: Logger): string[] {
  const recent: string[] = []
  const onChunk = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue
      recent.push(line.trim())
      if (recent.length > RECENT_LINES) recent.shift()
      log.debug({ line: line.trim() }, 'embedded postgres output')
    }
  }
  child.stdout?.on('data', onChunk)
  child.stderr?.on('data', onChunk)
  return recent
}
