import type { FastifyInstance } from 'fastify'
import { buildApp, buildOpsApp } from './api/app.js'
import { seed } from './seed/index.js'
import { createPasswordHasher } from './auth/passwords.js'
import type { Config } from './config/index.js'
import { loadSecrets } from './config/secrets.js'
import type { Logger } from './log.js'
import { reservedHostnamesOf } from './model/hostnames.js'
import { openDatabase, type Database } from './store/database.js'
import { migrate } from './store/migrate.js'
import { WatchHub } from './api/watch-hub.js'
import { ControllerManager } from './controller/manager.js'
import { createReconcilers } from './reconcilers/index.js'
import { createMetrics } from './metrics/registry.js'
import { registerPhaseGauges } from './metrics/phases.js'
import { createDockerClient, isDockerReachable } from './runtime/docker.js'
import { createRuntime } from './runtime/create.js'
import PQueue from 'p-queue'
import { readVersionInfo } from './version.js'
import { ConfigError } from './errors.js'

export interface RunningServer {
  readonly app: FastifyInstance
  readonly database: Database
  readonly controller: ControllerManager | undefined
  /** Graceful: stop accepting, let in-flight work finish, release the lease, close the pool, stop PostgreSQL. */
  stop(): Promise<void>
}

/**
 * The composition root: config → secrets → database (embedded unless DATABASE_URL) → migrate → API
 * and/or controller by GILGAL_ROLE. A controller-only process still serves /health, /readyz and
 * /metrics on PORT. Anything that fails on the way releases what was already started, so a refused
 * start leaves no PostgreSQL running behind it.
 */
export async function startServer(
  config: Config,
  log: Logger,
  onFatal: (error: Error) => void,
  { shareDatabase = false } = {},
): Promise<RunningServer> {
  const secrets = await loadSecrets(config)
  const version = await readVersionInfo()
  // One engine client for the API's log reads, the controller's event watch and (fenced) its reconcilers.
  // Made first: a Swarm Gilgal must not run on is refused before anything is started.
  const engine = createDockerClient(config.dockerHost)
  const runtime = await createRuntime(config, engine)
  const database = await openDatabase(config, log, shareDatabase)
  const passwords = createPasswordHasher()
  const metrics = createMetrics()
  let controller: ControllerManager | undefined
  // One LISTEN connection serves every watcher of this process (`?watch=true`).
  const watch =
    config.role === 'controller' ? undefined : new WatchHub(database.url, log.child({ component: 'watch' }))
  try {
    await migrate(database.pool, log)
    await watch?.start()
    registerPhaseGauges(metrics, database.pool)
    const common = {
      pool: database.pool,
      log,
      version,
      metrics,
      metricsToken: config.metricsToken,
      requireMetricsToken: config.isProduction,
      ...(config.role === 'api' ? {} : { engineReachable: () => isDockerReachable(engine) }),
    }
    const app =
      config.role === 'controller'
        ? await buildOpsApp(common)
        : await buildApp({
            ...common,
            secrets,
            passwords,
            corsOrigins: config.corsOrigins,
            trustedProxies: config.trustedProxies,
            allowLocalSources: config.allowLocalSources,
            limits: config.limits,
            reservedHostnames: reservedHostnamesOf(config),
            registration: config.registration,
            runtime,
            watch,
          })
    if (config.role !== 'api') {
      const builds = new PQueue({ concurrency: config.buildConcurrency })
      controller = new ControllerManager({
        pool: database.pool,
        databaseUrl: database.url,
        log: log.child({ component: 'controller' }),
        metrics,
        resyncSeconds: config.resyncSeconds,
        runtime,
        lease: { ttlMs: config.leaseSeconds * 1000, renewMs: config.leaseRenewSeconds * 1000 },
        buildReconcilers: (fence) =>
          createReconcilers({ pool: database.pool, runtime, config, secrets, builds, log, metrics }, fence),
        onFatal,
      })
      await controller.start()
    }
    await app.listen({ port: config.port, host: config.host })
    log.info(
      { role: config.role, embeddedDatabase: database.embedded, version: version.version },
      'gilgal started',
    )
    return {
      app,
      database,
      controller,
      async stop() {
        await app.close()
        await watch?.stop()
        await controller?.stop()
        await passwords.close()
        await database.close()
        log.info('gilgal stopped')
      },
    }
  } catch (error) {
    await watch?.stop().catch(() => undefined)
    await controller?.stop().catch(() => undefined)
    await passwords.close()
    await database.close()
    throw error
  }
}

/** `gilgal migrate`: apply pending migrations and exit. */
export async function runMigrations(config: Config, log: Logger): Promise<number[]> {
  const database = await openDatabase(config, log, true)
  try {
    return await migrate(database.pool, log)
  } finally {
    await database.close()
  }
}

/**
 * `gilgal seed`: the demo data, deployed for real. It runs a controller of its own meanwhile (on a
 * port of its own, without the API): beside a running server it stands by and the server's leads;
 * alone it leads, and the demo is built all the same. Nothing is written without a Docker engine.
 */
export async function runSeed(
  config: Config,
  log: Logger,
  options: { baseImage: string; say(line: string): void },
): Promise<void> {
  if (config.isProduction)
    throw new ConfigError(
      'gilgal seed makes users with published passwords: it refuses to when NODE_ENV=production',
    )
  if (!(await isDockerReachable(createDockerClient(config.dockerHost))))
    throw new ConfigError('gilgal seed deploys its demo apps, and the Docker engine does not answer')
  let fatal: Error | undefined
  const controllerConfig = { ...config, role: 'controller' as const, port: 0, host: '127.0.0.1' }
  const server = await startServer(controllerConfig, log, (error) => (fatal = error), { shareDatabase: true })
  try {
    const secrets = await loadSecrets(config)
    const reservedHostnames = reservedHostnamesOf(config)
    const { dataDir, limits } = config
    await seed(server.database.pool, { ...options, dataDir, limits, secrets, reservedHostnames })
    if (fatal) throw fatal
  } finally {
    await server.stop()
  }
}
