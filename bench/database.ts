/** PostgreSQL for the benches and the soak: DATABASE_URL's server, or an embedded one for the run. */
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { createLogger } from '../src/log.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/store/embedded.js'
import { migrate } from '../src/store/migrate.js'
import { freePort } from '../test/helpers/net.js'

const log = createLogger('warn')

/**
 * Runs `work` with the admin URL of DATABASE_URL's server when set, else of an embedded PostgreSQL in
 * a temporary directory (0755: as root, PostgreSQL runs as another user, who must reach it), stopped
 * and removed afterwards.
 */
export async function withPostgres<T>(work: (adminUrl: string) => Promise<T>): Promise<T> {
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-bench-'))
  await chmod(tempDir, 0o755)
  let embedded: EmbeddedDatabase | undefined
  try {
    const adminUrl =
      process.env.DATABASE_URL ??
      (embedded = await startEmbeddedPostgres({ dir: path.join(tempDir, 'pg'), port: await freePort(), log }))
        .adminUrl
    return await work(adminUrl)
  } finally {
    await embedded?.stop()
    await rm(tempDir, { recursive: true, force: true })
  }
}

/**
 * A migrated database of its own, named after `name` and this process, dropped afterwards: what one
 * part leaves behind (a thousand revisions, builds of a repository since deleted) must not be work for
 * the next part's controller.
 */
export async function withDatabase<T>(
  adminUrl: string,
  name: string,
  work: (url: string) => Promise<T>,
): Promise<T> {
  const database = `gilgal_${name}_${process.pid}`
  await admin(adminUrl, `create database ${database}`)
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  try {
    const pool = new pg.Pool({ connectionString: url.toString() })
    await migrate(pool, log)
    await pool.end()
    return await work(url.toString())
  } finally {
    await admin(adminUrl, `drop database if exists ${database} with (force)`)
  }
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
