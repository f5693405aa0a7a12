import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { GilgalError } from '../errors.js'
import type { Logger } from '../log.js'
import type { Pool, PoolClient } from './pool.js'
import { withTransaction } from './tx.js'

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

// Any constant works; every Gilgal process must use the same one ("gilgal" in ASCII).
const MIGRATION_LOCK_KEY = '113723510237548'
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/

/**
 * Released migrations whose text has since changed in comments only, by version. Such a file keeps
 * the checksum of its released text (`released`, recorded and compared as before) as long as it is
 * exactly the edited text (`edited`): Gilgal releases before and after the edit accept the same
 * databases, and any other change is still refused.
 */
export const COMMENT_EDITS: Readonly<Record<number, { released: string; edited: string }>> = {
  // 0001's first line cited a design document from outside the repository; it cites docs/ now.
  1: {
    released: '1c10b982cdc5f1c1dd896e45ea2464f0ffee3b7f6f062b438ec2d8be6680a83d',
    edited: 'ef92a678a804d4f24521d1aeb804d7785a0912a3ba59fca9b04fa0717487b0bf',
  },
}

export interface Migration {
  version: number
  name: string
  sql: string
  checksum: string
}

export class MigrationError extends GilgalError {
  constructor(code: string, message: string) {
    super(code, 500, 'Migration refused', message)
  }
}

/** Reads `NNNN_name.sql` files; versions must run 1, 2, 3… with no gap or duplicate. */
export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort()
  const migrations: Migration[] = []
  for (const file of files) {
    const match = FILE_NAME.exec(file)
    if (!match)
      throw new MigrationError('GILGAL_MIGRATION_BAD_NAME', `${file}: expected a name like 0001_init.sql`)
    const version = Number(match[1])
    if (version !== migrations.length + 1) {
      throw new MigrationError(
        'GILGAL_MIGRATION_GAP',
        `${file}: expected version ${migrations.length + 1} next`,
      )
    }
    const sql = await readFile(path.join(dir, file), 'utf8')
    const checksum = createHash('sha256').update(sql).digest('hex')
    const edit = COMMENT_EDITS[version]
    migrations.push({
      version,
      name: match[2]!,
      sql,
      checksum: edit?.edited === checksum ? edit.released : checksum,
    })
  }
  return migrations
}

/**
 * Applies pending migrations in order, each in its own transaction under a transaction-level advisory
 * lock, so processes starting together apply each file exactly once. Refuses to run when an applied
 * file was edited (checksum) or the database has a version this build does not know (it was migrated
 * by a newer Gilgal). Returns the versions it applied.
 */
export async function migrate(pool: Pool, log: Logger, dir = MIGRATIONS_DIR): Promise<number[]> {
  const migrations = await loadMigrations(dir)
  const applied: number[] = []
  for (const migration of migrations) {
    const didApply = await withTransaction(pool, async (client) => {
      await client.query('select pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY])
      await ensureMigrationsTable(client)
      const recorded = await readRecorded(client)
      verifyRecorded(recorded, migrations)
      if (recorded.has(migration.version)) return false
      await client.query(migration.sql).catch((error: unknown) => {
        throw refusal(migration, error)
      })
      await client.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [
        migration.version,
        migration.name,
        migration.checksum,
      ])
      return true
    })
    if (didApply) {
      applied.push(migration.version)
      log.info({ version: migration.version, name: migration.name }, 'migration applied')
    }
  }
  return applied
}

/**
 * A migration that checks the data before it changes the schema raises SQLSTATE class GL (GL001) with
 * a message and a hint for the operator: that is a refusal to report, not a crash.
 */
function refusal(migration: Migration, error: unknown): unknown {
  const { code, message, hint } = error as { code?: string; message?: string; hint?: string }
  if (!code?.startsWith('GL')) return error
  const file = `${String(migration.version).padStart(4, '0')}_${migration.name}.sql`
  return new MigrationError(
    'GILGAL_MIGRATION_REFUSED',
    `migration ${file} refused: ${message}${hint ? `; ${hint}` : ''}`,
  )
}

async function ensureMigrationsTable(client: PoolClient): Promise<void> {
  await client.query(`create table if not exists schema_migrations (
    version integer primary key,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now()
  )`)
}

async function readRecorded(client: PoolClient): Promise<Map<number, string>> {
  const { rows } = await client.query<{ version: number; checksum: string }>(
    'select version, checksum from schema_migrations order by version',
  )
  return new Map(rows.map((row) => [row.version, row.checksum]))
}

function verifyRecorded(recorded: Map<number, string>, migrations: Migration[]): void {
  for (const [version, checksum] of recorded) {
    const known = migrations[version - 1]
    if (!known) {
      throw new MigrationError(
        'GILGAL_MIGRATION_UNKNOWN',
        `the database has migration ${version}, which this Gilgal does not know: run a newer Gilgal`,
      )
    }
    if (known.checksum !== checksum) {
      const file = `${String(version).padStart(4, '0')}_${known.name}.sql`
      throw new MigrationError(
        'GILGAL_MIGRATION_CHECKSUM',
        `migration ${file} was edited after it was applied (checksum differs): restore it and add a new migration instead`,
      )
    }
  }
}
