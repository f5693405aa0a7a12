import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { after, before, describe, test } from 'node:test'
import { buildTestApp, client, registerUser, testLimits } from '../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

// The operator's limits (GILGAL_MAX_*), as a user who wants more than their share would meet them.
let db: TestDatabase
let app: FastifyInstance

before(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool, {
    limits: {
      ...testLimits,
      quotas: { projects: 2, environments: 2, replicas: 3, builds: 2 },
      writesPerMinute: 30,
    },
  })
})

after(async () => {
  await app.close()
  await db.drop()
})

async function count(table: string): Promise<number> {
  return (await db.pool.query(`select count(*)::int as n from ${table}`)).rows[0].n
}

async function snapshot() {
  return Promise.all(['projects', 'environments', 'deployments', 'events'].map(count))
}

describe('bounds of one container', () => {
  test('no memory, a memory or CPU limit of 0 or beyond the operator bound is refused, and nothing written', async () => {
    const api = client(app, await registerUser(app))
    const project = (await api.post('/api/projects', { name: 'bounded' })).json().metadata.id
    const before = await snapshot()
    for (const [resources, path, variable] of [
      [{ memory: '0' }, '/spec/resources/memory', /GILGAL_MAX_MEMORY/],
      [{ memory: '0.0001' }, '/spec/resources/memory', /between 6Mi and 4Gi/],
      [{ memory: '5Gi' }, '/spec/resources/memory', /GILGAL_MAX_MEMORY/],
      [{ cpus: 0.001 }, '/spec/resources/cpus', /GILGAL_MAX_CPUS/],
      [{ cpus: 3 }, '/spec/resources/cpus', /between 0.01 and 2/],
    ] as const) {
      const response = await api.post(`/api/projects/${project}/environments`, {
        name: 'x',
        spec: { resources },
      })
      assert.equal(response.statusCode, 422, JSON.stringify(resources))
      assert.equal(response.json().errors[0].path, path)
      assert.match(response.json().errors[0].message, variable)
    }
    assert.deepEqual(await snapshot(), before)
  })
})

describe('quotas of one user', () => {
  test('projects, environments and replicas: the write past the quota is a 403 naming it, and writes nothing', async () => {
    const user = await registerUser(app)
    const api = client(app, user)
    assert.equal((await api.post('/api/projects', { name: 'q-one' })).statusCode, 201)
    assert.equal((await api.post('/api/projects', { name: 'q-two' })).statusCode, 201)
    let before = await snapshot()
    const third = await api.post('/api/projects', { name: 'q-three' })
    assert.equal(third.statusCode, 403)
    assert.equal(third.json().code, 'GILGAL_QUOTA_EXCEEDED')
    assert.match(third.json().detail, /3 projects; your quota is 2 \(GILGAL_MAX_PROJECTS\)/)
    assert.deepEqual(await snapshot(), before)

    const replicas = await api.post('/api/projects/q-one/environments', {
      name: 'big',
      spec: { replicas: 4 },
    })
    assert.match(replicas.json().detail, /4 replicas; your quota is 3 \(GILGAL_MAX_REPLICAS\)/)
    assert.equal((await api.post('/api/projects/q-one/environments', { name: 'a' })).statusCode, 201)
    assert.equal((await api.post('/api/projects/q-two/environments', { name: 'b' })).statusCode, 201)
    before = await snapshot()
    const applied = await app.inject({
      method: 'POST',
      url: '/api/apply?dryRun=true',
      headers: { ...user.auth, 'content-type': 'application/yaml' },
      payload: 'apiVersion: gilgal.dev/v1\nkind: Environment\nmetadata: { name: c, project: q-one }\n',
    })
    assert.equal(applied.statusCode, 403, 'a dry run says so too')
    assert.match(applied.json().detail, /3 environments; your quota is 2 \(GILGAL_MAX_ENVIRONMENTS\)/)
    assert.deepEqual(await snapshot(), before)

    // Deleting is always possible, even above a quota (the operator may have lowered it).
    assert.equal((await api.delete('/api/projects/q-two')).statusCode, 202)
  })

  test('revisions queued or building: a deploy past the quota is refused until builds finish', async () => {
    const api = client(app, await registerUser(app))
    await api.post('/api/projects', {
      name: 'builds',
      spec: { repository: { url: 'https://git.example.com/b.git' } },
    })
    assert.equal(
      (await api.post('/api/projects/builds/environments', { name: 'production' })).statusCode,
      201,
    )
    assert.equal(
      (await api.post('/api/projects/builds/deployments', { environment: 'production' })).statusCode,
      201,
    )
    const refused = await api.post('/api/projects/builds/deployments', { environment: 'production' })
    assert.equal(refused.statusCode, 403)
    assert.match(
      refused.json().detail,
      /3 revisions queued or building; your quota is 2 \(GILGAL_MAX_BUILDS\)/,
    )
    await db.pool.query(
      `update deployments set status = '{"phase":"Failed"}' where project_id = (select id from projects where name = 'builds')`,
    )
    assert.equal(
      (await api.post('/api/projects/builds/deployments', { environment: 'production' })).statusCode,
      201,
    )
  })

  test('writes of one user at once cannot pass a quota together: exactly the quota is created', async () => {
    const api = client(app, await registerUser(app))
    const statuses = await Promise.all(
      Array.from(
        { length: 8 },
        async (_, i) => (await api.post('/api/projects', { name: `race-${i}` })).statusCode,
      ),
    )
    assert.deepEqual(
      statuses.toSorted((a, b) => a - b),
      [201, 201, 403, 403, 403, 403, 403, 403],
    )
    assert.equal((await api.get('/api/projects')).json().items.length, 2)
  })
})

describe('the pace of one user', () => {
  test('writes past the limit answer 429 with Retry-After; reads and other users are not slowed', async () => {
    const greedy = client(app, await registerUser(app))
    const statuses: number[] = []
    for (let i = 0; i < 31; i++) statuses.push((await greedy.delete(`/api/projects/none-${i}`)).statusCode)
    assert.deepEqual(statuses.slice(0, 30), Array(30).fill(404), 'the first 30 are answered')
    const limited = await greedy.delete('/api/projects/none')
    assert.equal(limited.statusCode, 429)
    assert.equal(limited.json().code, 'GILGAL_RATE_LIMITED')
    assert.ok(Number(limited.headers['retry-after']) > 0, String(limited.headers['retry-after']))
    assert.equal((await greedy.get('/api/projects')).statusCode, 200)
    const other = client(app, await registerUser(app))
    assert.equal((await other.delete('/api/projects/none')).statusCode, 404)
  })

  test('password checks of PATCH /api/auth/me are limited too: no oracle for a stolen session', async () => {
    const api = client(app, await registerUser(app))
    const statuses: number[] = []
    for (let i = 0; i < 11; i++) {
      statuses.push(
        (await api.patch('/api/auth/me', { currentPassword: `wrong-guess-${i}`, username: 'renamed1' }))
          .statusCode,
      )
    }
    assert.deepEqual(statuses, [...Array(10).fill(403), 429])
  })
})
