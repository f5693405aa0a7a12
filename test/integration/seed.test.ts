import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'
import { exitWithin, runGilgal } from '../helpers/process.js'

let db: TestDatabase
let app: FastifyInstance
let dataDir: string

before(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool)
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-seed-'))
})

after(async () => {
  await app.close()
  await db.drop()
  await rm(dataDir, { recursive: true, force: true })
})

test('gilgal seed creates explorable demo data once, and leaves it alone after', async () => {
  const env = { DATABASE_URL: db.url, GILGAL_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }
  const first = runGilgal(['seed'], env)
  assert.equal((await exitWithin(first, 60_000)).code, 0, first.output())
  const key = /ada@example\.com \/ analytical-engine: project shop, read-only API key (gil_\S+)/.exec(
    first.output(),
  )?.[1]
  assert.ok(key, first.output())

  const headers = { authorization: `Bearer ${key}` }
  const projects = (await app.inject({ method: 'GET', url: '/api/projects', headers })).json()
  assert.deepEqual(
    projects.items.map((p: { metadata: { name: string } }) => p.metadata.name),
    ['shop'],
  )
  const history = (await app.inject({ method: 'GET', url: '/api/projects/shop/deployments', headers })).json()
  assert.deepEqual(
    history.items.map((d: { metadata: { revision: number } }) => d.metadata.revision),
    [3, 2, 1],
  )
  // The three revisions were made in one transaction (one created_at): pages must still be exact.
  const paged: number[] = []
  for (let cursor = ''; ;) {
    const page = (
      await app.inject({ method: 'GET', url: `/api/projects/shop/deployments?limit=1${cursor}`, headers })
    ).json()
    paged.push(...page.items.map((d: { metadata: { revision: number } }) => d.metadata.revision))
    if (!page.nextCursor) break
    cursor = `&cursor=${page.nextCursor}`
  }
  assert.deepEqual(paged, [3, 2, 1])
  const login = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: 'grace@example.com', password: 'compiler-pioneer' },
  })
  assert.equal(login.statusCode, 200)

  const second = runGilgal(['seed'], env)
  assert.equal((await exitWithin(second, 60_000)).code, 0)
  assert.match(second.output(), /ada@example\.com exists already: left alone/)
  const { rows } = await db.pool.query('select count(*)::int as n from deployments')
  assert.equal(rows[0].n, 6)
})
