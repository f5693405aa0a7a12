import { createHash } from 'node:crypto'
import pg from 'pg'
import type { Logger } from '../log.js'

export type Pool = pg.Pool
export type PoolClient = pg.PoolClient

/**
 * The shared connection pool. An idle client that errors (the server restarted, say) is logged and
 * discarded by pg; without this handler the error would crash the process. Once the pool is ending,
 * such errors are expected: pg's end() drops its clients without waiting for them to close, so a
 * database stopped right after (embedded PostgreSQL on shutdown) may still terminate a few.
 */
export function createPool(connectionString: string, log: Logger, max = 10): Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  })
  pool.on('error', (error) => {
    if (pool.ending) log.debug({ err: error }, 'database client closed during shutdown')
    else log.warn({ err: error }, 'idle database client failed')
  })
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

const statementNames = new Map<string, string>()

/**
 * A named (prepared) statement: PostgreSQL parses and plans it once per connection instead of once
 * per call. Measured on the environments list: 4.1k → 8.0k req/s (bench/). For the hot read paths.
 */
export function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text)
  if (!name) {
    name = `g${createHash('sha1').update(text).digest('hex').slice(0, 16)}`
    statementNames.set(text, name)
  }
  return { name, text, values }
}
