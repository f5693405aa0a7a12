import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { createLogger } from '../../src/log.js'
import { createPool, type Pool } from '../../src/store/pool.js'

export const testLog = createLogger((process.env.GILGAL_TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent')

export interface TestDatabase {
  readonly name: string
  readonly url: string
  readonly pool: Pool
  /** Closes the pool and drops the database. */
  drop(): Promise<void>
}

/** The same server URL with another database name. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

export function testEnv(): { adminUrl: string; template: string; runId: string } {
  const adminUrl = process.env.GILGAL_TEST_ADMIN_URL
  const template = process.env.GILGAL_TEST_TEMPLATE_DB
  const runId = process.env.GILGAL_TEST_RUN_ID
  if (!adminUrl || !template || !runId) {
    throw new Error(
      'run tests through `npm test` (or `npm test -- FILE…`): it provides PostgreSQL and Docker checks',
    )
  }
  return { adminUrl, template, runId }
}

/**
 * A fresh database for one test file, cloned from the run's migrated template: fast (a file copy, no
 * migrations), and isolated from every other file running in parallel.
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const { adminUrl, template } = testEnv()
  const name = `gilgal_t_${randomBytes(6).toString('hex')}`
  const source = options.migrated === false ? 'template0' : template
  await adminQuery(`create database ${name} template ${pg.escapeIdentifier(source)}`)
  const url = databaseUrl(adminUrl, name)
  const pool = createPool(url, testLog, 5)
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end()
      await adminQuery(`drop database if exists ${name} with (force)`)
    },
  }
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: testEnv().adminUrl })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
