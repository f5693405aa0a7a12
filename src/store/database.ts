import path from 'node:path'
import type { Config } from '../config/index.js'
import type { Logger } from '../log.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js'
import { createPool, type Pool } from './pool.js'

export interface Database {
  readonly pool: Pool
  readonly url: string
  readonly embedded: boolean
  /** Closes the pool, then stops the embedded server if this process started one. */
  close(): Promise<void>
}

/**
 * `DATABASE_URL` when set, otherwise an embedded PostgreSQL under `$GILGAL_DATA_DIR/postgres`;
 * `shareRunning` lets a short-lived command use the one a running server runs (EmbeddedOptions).
 */
export async function openDatabase(config: Config, log: Logger, shareRunning = false): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined
  if (config.databaseUrl === undefined) {
    embedded = await startEmbeddedPostgres({
      dir: path.join(config.dataDir, 'postgres'),
      port: config.embeddedPostgresPort,
      log: log.child({ component: 'embedded-postgres' }),
      shareRunning,
    })
  }
  const url = config.databaseUrl ?? embedded!.url
  const pool = createPool(url, log)
  return {
    pool,
    url,
    embedded: embedded !== undefined,
    async close() {
      await pool.end()
      await embedded?.stop()
    },
  }
}
