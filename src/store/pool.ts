import pg from 'pg'
import type { Logger } from '../log.js'

export type Pool = pg.Pool
export type PoolClient = pg.PoolClient

/**
 * The shared connection pool. An idle client that errors (the server restarted, say) is logged and
 * discarded by pg; without this handler the error would crash the process.
 */
export function createPool(connectionString: string, log: Logger, max = 10): Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  })
  pool.on('error', (error) => log.warn({ err: error }, 'idle database client failed'))
  return pool
}

/** True when the database answers a trivial query within the pool's connection timeout. */
export async function isDatabaseReachable(pool: Pool): Promise<boolean> {
  try {
    await pool.query('select 1')
    return true
  } catch {
    return false
  }
}
