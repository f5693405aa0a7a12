/**
 * `.env` in the working directory configures the daemon commands, the process environment wins, and
 * .env.example names every variable the daemon reads.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'
import { envSchema } from '../../src/config/schema.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'
import { exitWithin, runScript } from '../helpers/process.js'

const cli = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url))
let workDir: string
let db: TestDatabase

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-env-file-'))
  db = await createTestDatabase({ migrated: false })
})

after(async () => {
  await db.drop()
  await rm(workDir, { recursive: true, force: true })
})

const migrate = (env: Record<string, string> = {}) => runScript(cli, ['migrate'], env, { cwd: workDir })

test('.env configures gilgal migrate, and the process environment wins over it', async () => {
  await writeFile(
    path.join(workDir, '.env'),
    `# the test database\nDATABASE_URL="${db.url}"\nGILGAL_ROLE=sideways\n`,
  )
  const fromFile = migrate()
  assert.equal(
    (await exitWithin(fromFile, 30_000)).code,
    1,
    'the bad GILGAL_ROLE of .env was read (the helper passes no GILGAL_* of ours on)',
  )
  assert.match(fromFile.output(), /GILGAL_ROLE/)

  const overridden = migrate({ GILGAL_ROLE: 'all' })
  assert.equal((await exitWithin(overridden, 30_000)).code, 0, overridden.output())
  const { rows } = await db.pool.query(`select count(*)::int as applied from schema_migrations`)
  assert.ok(rows[0].applied > 0, 'the DATABASE_URL of .env was migrated')
})

test('.env.example names every variable the daemon reads', async () => {
  const example = await readFile(fileURLToPath(new URL('../../.env.example', import.meta.url)), 'utf8')
  const named = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]))
  const missing = Object.keys(envSchema.properties).filter((name) => !named.has(name))
  assert.deepEqual(missing, [], 'add these to .env.example')
})
