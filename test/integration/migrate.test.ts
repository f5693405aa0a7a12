import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'
import { COMMENT_EDITS, loadMigrations, migrate, MigrationError } from '../../src/store/migrate.js'
import { createPool, type Pool } from '../../src/store/pool.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'

let db: TestDatabase
let dir: string

beforeEach(async () => {
  db = await createTestDatabase({ migrated: false })
  dir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-migrations-'))
})

afterEach(async () => {
  await db.drop()
  await rm(dir, { recursive: true, force: true })
})

async function writeMigrations(files: Record<string, string>): Promise<void> {
  for (const [name, sql] of Object.entries(files)) await writeFile(path.join(dir, name), sql)
}

async function recorded(pool: Pool): Promise<number[]> {
  const { rows } = await pool.query<{ version: number }>(
    'select version from schema_migrations order by version',
  )
  return rows.map((row) => row.version)
}

async function tableExists(pool: Pool, table: string): Promise<boolean> {
  const { rows } = await pool.query<{ exists: boolean }>('select to_regclass($1) is not null as exists', [
    table,
  ])
  return rows[0]!.exists
}

function refusedWith(code: string) {
  return (error: unknown) => error instanceof MigrationError && error.code === code
}

test("the project's migrations apply to an empty database once, and a second run applies nothing", async () => {
  const versions = (await loadMigrations()).map((m) => m.version)
  assert.deepEqual(await migrate(db.pool, testLog), versions)
  assert.deepEqual(await recorded(db.pool), versions)
  for (const table of ['users', 'api_keys', 'refresh_tokens', 'projects', 'environments', 'deployments']) {
    assert.ok(await tableExists(db.pool, table), `${table} exists`)
  }
  for (const table of ['deployment_logs', 'events', 'controller_leases']) {
    assert.ok(await tableExists(db.pool, table), `${table} exists`)
  }
  assert.deepEqual(await migrate(db.pool, testLog), [])
  assert.deepEqual(await recorded(db.pool), versions)
})

test('migrations apply in version order whatever order the directory lists them in', async () => {
  await writeMigrations({
    '0002_child.sql': 'create table child (parent_id int references parent (id));',
    '0003_seed.sql': 'insert into parent values (1); insert into child values (1);',
    '0001_parent.sql': 'create table parent (id int primary key);',
  })
  assert.deepEqual(await migrate(db.pool, testLog, dir), [1, 2, 3])
  const { rows } = await db.pool.query('select name from schema_migrations order by applied_at, version')
  assert.deepEqual(
    rows.map((row) => row.name),
    ['parent', 'child', 'seed'],
  )
})

test('a gap in the numbering or a badly named file is refused before anything is applied', async () => {
  await writeMigrations({ '0001_a.sql': 'create table a ();', '0003_c.sql': 'create table c ();' })
  await assert.rejects(migrate(db.pool, testLog, dir), refusedWith('GILGAL_MIGRATION_GAP'))
  await rm(path.join(dir, '0003_c.sql'))
  await writeMigrations({ 'add-users.sql': 'create table u ();' })
  await assert.rejects(migrate(db.pool, testLog, dir), refusedWith('GILGAL_MIGRATION_BAD_NAME'))
  assert.equal(await tableExists(db.pool, 'a'), false)
  assert.equal(await tableExists(db.pool, 'schema_migrations'), false)
})

test('a failing migration is rolled back whole and leaves the earlier ones applied', async () => {
  await writeMigrations({
    '0001_ok.sql': 'create table ok ();',
    '0002_broken.sql': 'create table half (); select 1 / 0;',
  })
  await assert.rejects(migrate(db.pool, testLog, dir), /division by zero/)
  assert.deepEqual(await recorded(db.pool), [1])
  assert.equal(await tableExists(db.pool, 'half'), false)
})

test('an applied migration that was edited is refused, and nothing after it is applied', async () => {
  await writeMigrations({ '0001_a.sql': 'create table a (id int);' })
  assert.deepEqual(await migrate(db.pool, testLog, dir), [1])
  await writeMigrations({ '0001_a.sql': 'create table a (id bigint);', '0002_b.sql': 'create table b ();' })
  await assert.rejects(migrate(db.pool, testLog, dir), (error: unknown) => {
    assert.ok(refusedWith('GILGAL_MIGRATION_CHECKSUM')(error))
    assert.match((error as Error).message, /0001_a\.sql was edited after it was applied/)
    return true
  })
  assert.deepEqual(await recorded(db.pool), [1])
  assert.equal(await tableExists(db.pool, 'b'), false)
})

test('a migration edited in comments only keeps the checksum it was released with', async () => {
  const [first] = await loadMigrations()
  assert.equal(
    first!.checksum,
    COMMENT_EDITS[1]!.released,
    'recorded as releases before the edit recorded it',
  )
  await migrate(db.pool, testLog)
  const { rows } = await db.pool.query('select checksum from schema_migrations where version = 1')
  assert.equal(rows[0].checksum, COMMENT_EDITS[1]!.released)
  // Any other text is an edit: a file named 0001 whose text is neither is checked by its own checksum.
  await writeMigrations({ '0001_init.sql': `${first!.sql}\n-- one more comment\n` })
  await assert.rejects(migrate(db.pool, testLog, dir), refusedWith('GILGAL_MIGRATION_CHECKSUM'))
})

test('a database migrated by a newer Gilgal (an unknown version) is refused', async () => {
  await writeMigrations({ '0001_a.sql': 'create table a ();', '0002_b.sql': 'create table b ();' })
  await migrate(db.pool, testLog, dir)
  await rm(path.join(dir, '0002_b.sql'))
  await assert.rejects(migrate(db.pool, testLog, dir), refusedWith('GILGAL_MIGRATION_UNKNOWN'))
})

test('two runners starting together apply each migration exactly once (advisory lock)', async () => {
  // The sleep holds the first runner inside its transaction, so the second one must wait on the lock;
  // without it the second would fail on "relation already exists" or record the version twice.
  await writeMigrations({
    '0001_slow.sql': 'select pg_sleep(0.3); create table slow ();',
    '0002_next.sql': 'create table next ();',
  })
  const other = createPool(db.url, testLog, 2)
  try {
    const [first, second] = await Promise.all([migrate(db.pool, testLog, dir), migrate(other, testLog, dir)])
    assert.deepEqual([...first, ...second].sort(), [1, 2])
    assert.deepEqual(await recorded(db.pool), [1, 2])
  } finally {
    await other.end()
  }
})

test('installation-wide project names: a database where two owners hold one name is refused, naming it', async () => {
  const migrations = await loadMigrations()
  // Apply 0001 only, then make the clash an older Gilgal allowed.
  const first = path.join(dir, '0001_init.sql')
  await writeFile(first, migrations[0]!.sql)
  await migrate(db.pool, testLog, dir)
  await db.pool.query(`
    with a as (insert into users (email, username, password_hash) values ('a@x', 'a', 'x') returning id),
         b as (insert into users (email, username, password_hash) values ('b@x', 'b', 'x') returning id)
    insert into projects (owner_id, name) select id, 'shop' from a union all select id, 'shop' from b`)
  await assert.rejects(migrate(db.pool, testLog), (error: unknown) => {
    assert.ok(refusedWith('GILGAL_MIGRATION_REFUSED')(error))
    assert.match(
      (error as Error).message,
      /0002_installation_wide_project_names\.sql refused: .*shop \(2 owners\).*delete all but one/,
    )
    return true
  })
  assert.deepEqual(await recorded(db.pool), [1], 'nothing after it applied')
  await db.pool.query(`delete from projects where owner_id = (select id from users where username = 'b')`)
  assert.deepEqual(
    await migrate(db.pool, testLog),
    migrations.slice(1).map((m) => m.version),
  )
  await assert.rejects(
    db.pool.query(`insert into projects (owner_id, name) select id, 'shop' from users where username = 'b'`),
    /projects_name_key/,
  )
})
