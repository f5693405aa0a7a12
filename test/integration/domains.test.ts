import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { loadMigrations, migrate } from '../../src/store/migrate.js'
import { removeDeleted } from '../../src/store/spec-tables.js'
import { buildTestApp, client, registerUser, type TestUser } from '../helpers/app.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'

let db: TestDatabase
let app: FastifyInstance
let alice: TestUser
let bob: TestUser

before(async () => {
  db = await createTestDatabase()
  const reservedHostnames = { baseDomain: 'apps.example.com', apiHost: 'gilgal.example.com' }
  app = await buildTestApp(db.pool, { reservedHostnames })
  alice = await registerUser(app, 'alice')
  bob = await registerUser(app, 'bob')
})

after(async () => {
  await app.close()
  await db.drop()
})

const repository = { url: 'https://github.com/acme/shop.git', ref: 'main' }
let counter = 0
const unique = (prefix: string) => `${prefix}-${++counter}`
const domain = () => `${unique('www')}.shop.example.org`

async function createProject(user: TestUser): Promise<{ id: string; name: string }> {
  const response = await client(app, user).post('/api/projects', {
    name: unique('shop'),
    spec: { repository },
  })
  assert.equal(response.statusCode, 201, response.body)
  return response.json().metadata
}

function postEnvironment(user: TestUser, projectId: string, domains: string[], name = unique('env')) {
  return client(app, user).post(`/api/projects/${projectId}/environments`, { name, spec: { domains } })
}

async function createEnvironment(user: TestUser, domains: string[], projectId?: string) {
  const response = await postEnvironment(user, projectId ?? (await createProject(user)).id, domains)
  assert.equal(response.statusCode, 201, response.body)
  return response.json()
}

function putDomains(user: TestUser, environmentId: string, domains: string[], env = {}) {
  return client(app, user).put(`/api/environments/${environmentId}`, { spec: { domains, env } })
}

function apply(user: TestUser, documents: object[], query = '') {
  const headers = { ...user.auth, 'content-type': 'application/json' }
  return app.inject({
    method: 'POST',
    url: `/api/apply${query}`,
    headers,
    payload: JSON.stringify(documents),
  })
}

const apiVersion = 'gilgal.dev/v1'
const projectDocument = (name: string) => ({
  apiVersion,
  kind: 'Project',
  metadata: { name },
  spec: { repository },
})
const environmentDocument = (project: string, name: string, domains: string[]) => ({
  apiVersion,
  kind: 'Environment',
  metadata: { name, project },
  spec: { domains },
})

async function claimsOf(environmentId: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ hostname: string }>(
    'select hostname from environment_domains where environment_id = $1 order by hostname',
    [environmentId],
  )
  return rows.map((row) => row.hostname)
}

/** Everything a refused write must leave as it was. */
async function state() {
  const rows = async (sql: string) => (await db.pool.query(sql)).rows
  return {
    claims: await rows('select * from environment_domains order by hostname'),
    projects: await rows('select id, spec, generation from projects order by id'),
    environments: await rows('select id, spec, generation, latest_revision from environments order by id'),
    deployments: await rows('select count(*)::int as n from deployments'),
    events: await rows('select count(*)::int as n from events'),
  }
}

function assertRefused(response: LightMyRequestResponse, path: string, message: string): void {
  assert.equal(response.statusCode, 422, response.body)
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/)
  assert.equal(response.json().code, 'GILGAL_VALIDATION_FAILED')
  assert.deepEqual(response.json().errors, [{ path, message }])
}

/** 409 GILGAL_DOMAIN_TAKEN about `hostname`, saying nothing of who holds it. */
function assertTaken(response: LightMyRequestResponse, hostname: string, secrets: string[] = []): void {
  assert.equal(response.statusCode, 409, response.body)
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/)
  assert.equal(response.json().code, 'GILGAL_DOMAIN_TAKEN')
  assert.ok(response.json().detail.endsWith(`domain ${hostname} is already in use`), response.body)
  // Whole words: one name may begin another (shop-1, shop-12).
  for (const secret of secrets)
    assert.doesNotMatch(response.body, new RegExp(`\\b${secret}\\b`), `the answer names ${secret}`)
}

const UNDER_BASE = 'is under the base domain apps.example.com: Gilgal gives those names to projects'
const REFUSALS = [
  [
    'a wildcard',
    '*.shop.example.org',
    'wildcard domains are not supported (their certificates need a DNS challenge)',
  ],
  ['the base domain itself', 'apps.example.com', UNDER_BASE],
  ['a name under the base domain', 'shop.apps.example.com', UNDER_BASE],
  ["the API's own hostname", 'gilgal.example.com', "is the API's own hostname (GILGAL_API_HOST)"],
] as const

describe('refused domains', () => {
  for (const [what, refused, message] of REFUSALS) {
    test(`${what} is refused (422) on create, update, apply and dry run, and nothing changes`, async () => {
      const project = await createProject(alice)
      const existing = await createEnvironment(alice, [domain()], project.id)
      const before = await state()
      const domains = [domain(), refused]
      assertRefused(await postEnvironment(alice, project.id, domains), '/spec/domains/1', message)
      // With a snapshotted field changed too, so a write that got through would make a revision.
      const updated = await putDomains(alice, existing.metadata.id, domains, { CHANGED: '1' })
      assertRefused(updated, '/spec/domains/1', message)
      for (const query of ['', '?dryRun=true']) {
        const document = environmentDocument(project.name, existing.metadata.name, domains)
        assertRefused(await apply(alice, [document], query), '/documents/0/spec/domains/1', message)
      }
      assert.deepEqual(await state(), before)
      const shown = (await client(app, alice).get(`/api/environments/${existing.metadata.id}`)).json()
      assert.deepEqual(shown.spec, existing.spec)
      assert.equal(shown.metadata.latestRevision, existing.metadata.latestRevision)
    })
  }
})

describe('claims', () => {
  test('valid domains are stored, shown and claimed; a rewrite keeps the rows of the hostnames it keeps', async () => {
    // Ends with the base domain's text, but is not under it.
    const [kept, dropped, added] = [domain(), 'myapps.example.com', domain()]
    const environment = await createEnvironment(alice, [kept, dropped])
    const id = environment.metadata.id
    assert.deepEqual(environment.spec.domains, [kept, dropped])
    assert.deepEqual((await client(app, alice).get(`/api/environments/${id}`)).json().spec.domains, [
      kept,
      dropped,
    ])
    assert.deepEqual(await claimsOf(id), [kept, dropped].sort())
    // What the routing controller writes; the API must not lose it.
    await db.pool.query("update environment_domains set certificate = 'issued' where hostname = $1", [kept])
    const updated = await putDomains(alice, id, [added, kept])
    assert.equal(updated.statusCode, 200, updated.body)
    assert.deepEqual(updated.json().spec.domains, [added, kept])
    assert.deepEqual(await claimsOf(id), [added, kept].sort())
    const { rows } = await db.pool.query('select certificate from environment_domains where hostname = $1', [
      kept,
    ])
    assert.equal(rows[0].certificate, 'issued')
    await db.pool.query(
      "update environment_domains set certificate = 'NotReady', certificate_message = 'no certificate yet' where hostname = $1",
      [kept],
    )
    const shown = (await client(app, alice).get(`/api/environments/${id}`)).json().status.domains
    assert.deepEqual(
      shown.map((d: Record<string, unknown>) => [d.hostname, d.certificate, d.message]),
      [
        [added, undefined, undefined],
        [kept, 'NotReady', 'no certificate yet'],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      'status.domains: the hostnames it holds, with what the certificate check found',
    )
    assert.equal((await putDomains(alice, id, [])).statusCode, 200)
    assert.deepEqual(await claimsOf(id), [])
  })

  test("another user's domain is refused (409) on create, update and apply, naming neither owner nor project", async () => {
    const taken = domain()
    const held = await createEnvironment(alice, [taken])
    const secrets = ['alice', held.metadata.project, held.metadata.name, held.metadata.id]
    const project = await createProject(bob)
    const own = await createEnvironment(bob, [], project.id)
    const before = await state()
    assertTaken(await postEnvironment(bob, project.id, [domain(), taken]), taken, secrets)
    assertTaken(await putDomains(bob, own.metadata.id, [taken]), taken, secrets)
    for (const query of ['', '?dryRun=true']) {
      const document = environmentDocument(project.name, own.metadata.name, [taken])
      assertTaken(await apply(bob, [document], query), taken, secrets)
    }
    assert.deepEqual(await state(), before)
    assert.deepEqual(await claimsOf(held.metadata.id), [taken])
  })

  test("the same user's other environment cannot take it either", async () => {
    const taken = domain()
    const held = await createEnvironment(alice, [taken])
    const before = await state()
    assertTaken(await postEnvironment(alice, held.metadata.projectId, [taken]), taken)
    assertTaken(await postEnvironment(alice, (await createProject(alice)).id, [taken]), taken)
    assert.deepEqual((await state()).claims, before.claims)
  })

  test('a domain one environment drops, another may claim', async () => {
    const shared = domain()
    const first = await createEnvironment(alice, [shared])
    const second = await createEnvironment(bob, [])
    assertTaken(await putDomains(bob, second.metadata.id, [shared]), shared)
    assert.equal((await putDomains(alice, first.metadata.id, [])).statusCode, 200)
    assert.equal((await putDomains(bob, second.metadata.id, [shared])).statusCode, 200)
    assert.deepEqual(await claimsOf(second.metadata.id), [shared])
    assertTaken(await putDomains(alice, first.metadata.id, [shared]), shared)
  })

  test('a deleted environment holds its domains until its row is removed', async () => {
    const shared = domain()
    const deleted = await createEnvironment(alice, [shared])
    const project = await createProject(bob)
    assert.equal(
      (await client(app, alice).delete(`/api/environments/${deleted.metadata.id}`)).statusCode,
      202,
    )
    assertTaken(await postEnvironment(bob, project.id, [shared]), shared)
    // What the controller does once the environment's containers are gone.
    await removeDeleted(db.pool, 'Environment', deleted.metadata.id)
    const created = await postEnvironment(bob, project.id, [shared])
    assert.equal(created.statusCode, 201, created.body)
    assert.deepEqual(await claimsOf(created.json().metadata.id), [shared])
  })

  test('two environments of one apply claiming one domain: 409, and nothing is written', async () => {
    const shared = domain()
    const name = unique('pair')
    const documents = [
      projectDocument(name),
      environmentDocument(name, 'production', [shared]),
      environmentDocument(name, 'staging', [domain(), shared]),
    ]
    const before = await state()
    for (const query of ['', '?dryRun=true']) assertTaken(await apply(alice, documents, query), shared)
    assert.deepEqual(await state(), before)
  })

  test('a dry run answers as the write would, and claims nothing', async () => {
    const name = unique('dry')
    const free = domain()
    const before = await state()
    const dry = await apply(
      alice,
      [projectDocument(name), environmentDocument(name, 'production', [free])],
      '?dryRun=true',
    )
    assert.equal(dry.statusCode, 200, dry.body)
    assert.deepEqual(await state(), before)
    const applied = await apply(alice, [
      projectDocument(name),
      environmentDocument(name, 'production', [free]),
    ])
    assert.equal(applied.statusCode, 200, applied.body)
    const { rows } = await db.pool.query('select 1 from environment_domains where hostname = $1', [free])
    assert.equal(rows.length, 1)
  })

  test('two users asking for one domain at once: exactly one gets it', async () => {
    const shared = domain()
    const projects = await Promise.all([createProject(alice), createProject(bob)])
    const answers = await Promise.all([
      postEnvironment(alice, projects[0].id, [shared]),
      postEnvironment(bob, projects[1].id, [shared]),
    ])
    assert.deepEqual(answers.map((answer) => answer.statusCode).sort(), [201, 409])
    const { rows } = await db.pool.query('select 1 from environment_domains where hostname = $1', [shared])
    assert.equal(rows.length, 1)
  })
})

describe('migration 0003', () => {
  test('claims the domains existing environments list; the oldest keeps a hostname several list', async () => {
    const old = await createTestDatabase({ migrated: false })
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-domains-'))
    try {
      const migrations = await loadMigrations()
      for (const migration of migrations.slice(0, 2)) {
        const file = `${String(migration.version).padStart(4, '0')}_${migration.name}.sql`
        await writeFile(path.join(dir, file), migration.sql)
      }
      await migrate(old.pool, testLog, dir)
      const { rows: ids } = await old.pool.query<{ name: string; id: string }>(`
        with u as (insert into users (email, username, password_hash) values ('o@x', 'o', 'x') returning id),
             p as (insert into projects (owner_id, name) select id, 'old' from u returning id)
        insert into environments (project_id, name, spec, created_at)
        select p.id, e.name, e.spec::jsonb, e.created_at::timestamptz from p, (values
          ('newer', '{"domains": ["shared.example.org", "own.example.org"]}', '2024-01-02'),
          ('older', '{"domains": ["shared.example.org"]}', '2024-01-01'),
          ('none', '{}', '2024-01-03'),
          ('null', '{"domains": null}', '2024-01-04')
        ) as e (name, spec, created_at)
        returning name, id`)
      await migrate(old.pool, testLog)
      const { rows } = await old.pool.query(
        'select hostname, environment_id from environment_domains order by hostname',
      )
      const id = (name: string) => ids.find((row) => row.name === name)!.id
      assert.deepEqual(rows, [
        { hostname: 'own.example.org', environment_id: id('newer') },
        { hostname: 'shared.example.org', environment_id: id('older') },
      ])
    } finally {
      await old.drop()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

test('an environment whose default hostname label would pass 63 characters is refused, and nothing is written', async () => {
  const user = await registerUser(app)
  const project = await client(app, user).post('/api/projects', { name: `p${'x'.repeat(38)}1`, spec: {} })
  assert.equal(project.statusCode, 201, project.body)
  const projectId = project.json().metadata.id
  const tooLong = await client(app, user).post(`/api/projects/${projectId}/environments`, {
    name: `e${'y'.repeat(21)}`,
    spec: {},
  })
  assert.equal(tooLong.statusCode, 422, tooLong.body)
  assert.equal(tooLong.json().errors[0].path, '/metadata/name')
  assert.match(tooLong.json().errors[0].message, /would have 64 characters; at most 63/)
  const listed = await client(app, user).get(`/api/projects/${projectId}/environments`)
  assert.deepEqual(listed.json().items, [])
  const fits = await client(app, user).post(`/api/projects/${projectId}/environments`, {
    name: `e${'y'.repeat(20)}`,
    spec: {},
  })
  assert.equal(fits.statusCode, 201, fits.body)
})
