import type { FastifyInstance } from 'fastify'
import { buildApp } from './api/app.js'
import { seed } from './seed.js'
import { createPasswordHasher } from './auth/passwords.js'
import type { Config } from './config/index.js'
import { loadSecrets } from './config/secrets.js'
import type { Logger } from './log.js'
import { openDatabase, type Database } from './store/database.js'
import { migrate } from './store/migrate.js'
import { readVersionInfo } from './version.js'

export interface RunningServer {
  readonly app: FastifyInstance
  readonly database: Database
  /** Graceful: stop accepting, let in-flight requests finish, close the pool, stop embedded PostgreSQL. */
  stop(): Promise<void>
}

/**
 * The composition root: config → secrets → database (embedded unless DATABASE_URL) → migrate → API.
 * Later issues add the controller here, by role. Anything that fails on the way releases what was
 * already started, so a refused start leaves no PostgreSQL running behind it.
 */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const secrets = await loadSecrets(config)
  const version = await readVersionInfo()
  const database = await openDatabase(config, log)
  const passwords = createPasswordHasher()
  try {
    await migrate(database.pool, log)
    const app = await buildApp({
      pool: database.pool,
      log,
      version,
      secrets,
      passwords,
      corsOrigins: config.corsOrigins,
      allowLocalSources: config.allowLocalSources,
      metricsToken: config.metricsToken,
    })
    await app.listen({ port: config.port, host: config.host })
    log.info(
      { role: config.role, embeddedDatabase: database.embedded, version: version.version },
      'gilgal started',
    )
    return {
      app,
      database,
      async stop() {
        await app.close()
        await passwords.close()
        await database.close()
        log.info('gilgal stopped')
      },
    }
  } catch (error) {
    await passwords.close()
    await database.close()
    throw error
  }
}

/** `gilgal migrate`: apply pending migrations and exit. */
export async function runMigrations(config: Config, log: Logger): Promise<number[]> {
  const database = await openDatabase(config, log)
  try {
    return await migrate(database.pool, log)
  } finally {
    await database.close()
  }
}

/** `gilgal seed`: migrate, then add the demo data. */
export async function runSeed(config: Config, log: Logger): Promise<string[]> {
  const secrets = await loadSecrets(config)
  const database = await openDatabase(config, log)
  try {
    await migrate(database.pool, log)
    return await seed(database.pool, secrets)
  } finally {
    await database.close()
  }
}
