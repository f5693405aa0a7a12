import type { Pool, PoolClient } from './pool.js'

/**
 * Runs `work` in one transaction: commit when it resolves, roll back when it throws. The only way to
 * run a multi-statement write. `dryRun` rolls back even on success: the same
 * code path answers exactly what it would have done, and writes (and notifies) nothing.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  { dryRun = false } = {},
): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  // pg-pool listens for errors on idle clients only: a checked-out one whose server goes away
  // between statements (a restart) would emit 'error' to nobody and crash the process.
  const onLost = (error: Error) => (broken = error)
  client.on('error', onLost)
  try {
    await client.query('begin')
    const result = await work(client)
    await client.query(dryRun ? 'rollback' : 'commit')
    return result
  } catch (error) {
    // A failed rollback means the connection is unusable: destroy it rather than pool it.
    await client.query('rollback').catch((rollbackError: Error) => (broken = rollbackError))
    throw error
  } finally {
    client.removeListener('error', onLost)
    client.release(broken)
  }
}
