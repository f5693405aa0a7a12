import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, client, registerUser, type TestUser } from '../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

let db: TestDatabase
let app: FastifyInstance
let user: TestUser
let api: ReturnType<typeof client>

before(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool)
  user = await registerUser(app)
  api = client(app, user)
})

after(async () => {
  await app.close()
  await db.drop()
})

let counter = 0

/** A project with a git repository and one environment (revision 1 exists). */
async function setup(envSpec: object = { env: { MODE: 'one' } }) {
  const project = (
    await api.post('/api/projects', {
      name: `p-${++counter}`,
      spec: { repository: { url: 'https://git.example.com/a.git' } },
    })
  ).json()
  const environment = (
    await api.post(`/api/projects/${project.metadata.id}/environments`, { name: 'production', spec: envSpec })
  ).json()
  return { projectId: project.metadata.id as string, environmentId: environment.metadata.id as string }
}

/** Writes status as the controller would (the API never does). */
async function setStatus(deploymentId: string, status: object): Promise<void> {
  await db.pool.query('update deployments set status = $2 where id = $1', [deploymentId, status])
}

async function deployments(projectId: string, query = '') {
  return (await api.get(`/api/projects/${projectId}/deployments${query}`)).json()
}

describe('manual deploys', () => {
  test('a deploy is the next revision, from the environment’s configuration or a source override', async () => {
    const { projectId } = await setup()
    const plain = await api.post(`/api/projects/${projectId}/deployments`, { environment: 'production' })
    assert.equal(plain.statusCode, 201)
    assert.equal(plain.json().metadata.revision, 2)
    assert.deepEqual(plain.json().metadata.trigger, { type: 'api', by: user.username })
    assert.deepEqual(plain.json().spec.env, { MODE: 'one' })
    const override = await api.post(`/api/projects/${projectId}/deployments`, {
      environment: 'production',
      source: { git: { ref: 'v2.0.0' } },
    })
    assert.deepEqual(override.json().spec.source, {
      git: { url: 'https://git.example.com/a.git', ref: 'v2.0.0', path: '.' },
    })
    const image = await api.post(`/api/projects/${projectId}/deployments`, {
      environment: 'production',
      source: { image: 'registry.local/shop:1.4.2' },
    })
    assert.deepEqual(image.json().spec.source, { image: 'registry.local/shop:1.4.2' })
  })

  test('GET by id answers the revision with its status', async () => {
    const { projectId } = await setup()
    const [first] = (await deployments(projectId)).items
    const response = await api.get(`/api/deployments/${first.metadata.id}`)
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), first)
    assert.equal(response.json().status.phase, 'Queued')
    assert.ok(Date.parse(response.json().status.queuedAt))
    assert.equal((await api.get('/api/deployments/not-a-uuid')).statusCode, 404)
    assert.equal(response.json().status.durationMs, undefined, 'not finished: no duration')
    const finishedAt = new Date(Date.parse(first.metadata.createdAt) + 4321).toISOString()
    await setStatus(first.metadata.id, { ...first.status, phase: 'Active', finishedAt })
    assert.equal((await api.get(`/api/deployments/${first.metadata.id}`)).json().status.durationMs, 4321)
  })

  test('a revision is found as users name it, production-r1, within its project only', async () => {
    const { projectId } = await setup()
    const [first] = (await deployments(projectId)).items
    const byName = await api.get(`/api/projects/${projectId}/deployments/production-r1`)
    assert.equal(byName.statusCode, 200, byName.body)
    assert.deepEqual(byName.json(), first)
    const byId = await api.get(`/api/projects/${projectId}/deployments/${first.metadata.id}`)
    assert.equal(byId.json().metadata.revision, 1)
    for (const missing of ['production-r2', 'staging-r1', 'production'])
      assert.equal(
        (await api.get(`/api/projects/${projectId}/deployments/${missing}`)).statusCode,
        404,
        missing,
      )
    const other = await setup()
    assert.equal(
      (await api.get(`/api/projects/${other.projectId}/deployments/${first.metadata.id}`)).statusCode,
      404,
    )
    const stranger = client(app, await registerUser(app))
    assert.equal((await stranger.get(`/api/projects/${projectId}/deployments/production-r1`)).statusCode, 404)
  })

  test('bad requests are refused and create nothing', async () => {
    const { projectId } = await setup()
    const cases: Array<[object, number]> = [
      [{ environment: 'staging' }, 404],
      [{ environment: 'production', source: { git: { ref: '-x' } } }, 400],
      [{ environment: 'production', source: { image: 'UPPER/case' } }, 400],
      [{ environment: 'production', extra: 1 }, 400],
    ]
    cases.push([{ environment: 'production', source: { git: { url: 'file:///etc' } } }, 422])
    cases.push([{ environment: 'production', source: { git: { url: '/var/lib/gilgal' } } }, 422])
    for (const [body, status] of cases) {
      assert.equal(
        (await api.post(`/api/projects/${projectId}/deployments`, body)).statusCode,
        status,
        JSON.stringify(body),
      )
    }
    assert.equal((await deployments(projectId)).items.length, 1)
    const bare = (await api.post('/api/projects', { name: `bare-${++counter}` })).json()
    await api.post(`/api/projects/${bare.metadata.id}/environments`, { name: 'production' })
    const noSource = await api.post(`/api/projects/${bare.metadata.id}/deployments`, {
      environment: 'production',
    })
    assert.equal(noSource.statusCode, 422)
    assert.match(noSource.json().detail, /has no source/)
  })

  test('concurrent deploys get distinct, consecutive revisions', async () => {
    const { projectId } = await setup()
    const responses = await Promise.all(
      Array.from({ length: 12 }, () =>
        api.post(`/api/projects/${projectId}/deployments`, { environment: 'production' }),
      ),
    )
    assert.ok(responses.every((r) => r.statusCode === 201))
    const revisions = responses.map((r) => r.json().metadata.revision).sort((a: number, b: number) => a - b)
    assert.deepEqual(
      revisions,
      Array.from({ length: 12 }, (_, i) => i + 2),
    )
  })
})

describe('listing', () => {
  test('filters by environment and phase, newest first, with a cursor', async () => {
    const { projectId, environmentId } = await setup()
    await api.post(`/api/projects/${projectId}/environments`, { name: 'staging', spec: {} })
    for (let i = 0; i < 3; i++)
      await api.post(`/api/projects/${projectId}/deployments`, { environment: 'production' })
    const production = await deployments(projectId, `?environment=${environmentId}`)
    assert.deepEqual(
      production.items.map((d: { metadata: { revision: number } }) => d.metadata.revision),
      [4, 3, 2, 1],
    )
    await setStatus(production.items[3].metadata.id, { phase: 'Active' })
    const active = await deployments(projectId, '?phase=Active')
    assert.deepEqual(
      active.items.map((d: { metadata: { revision: number } }) => d.metadata.revision),
      [1],
    )
    const page1 = await deployments(projectId, '?environment=production&limit=3')
    const page2 = await deployments(projectId, `?environment=production&limit=3&cursor=${page1.nextCursor}`)
    assert.deepEqual(
      [...page1.items, ...page2.items].map((d: { metadata: { revision: number } }) => d.metadata.revision),
      [4, 3, 2, 1],
    )
    assert.equal(page2.nextCursor, null)
    assert.equal((await api.get(`/api/projects/${projectId}/deployments?phase=Running`)).statusCode, 400)
    assert.equal((await api.get(`/api/projects/${projectId}/deployments?environment=nope`)).statusCode, 404)
    const forged = Buffer.from(JSON.stringify(['not-a-time', 1, 'x'])).toString('base64url')
    const response = await api.get(`/api/projects/${projectId}/deployments?cursor=${forged}`)
    assert.equal(response.statusCode, 422, 'a forged cursor is refused before it reaches the database')
  })
})

describe('cancel', () => {
  test('a revision in progress takes a cancel request; a finished one answers 409', async () => {
    const { projectId } = await setup()
    const [first] = (await deployments(projectId)).items
    const cancelled = await api.delete(`/api/deployments/${first.metadata.id}`)
    assert.equal(cancelled.statusCode, 202)
    assert.ok(cancelled.json().metadata.cancelRequestedAt)
    assert.equal(cancelled.json().metadata.generation, 2)
    assert.equal(
      (await api.delete(`/api/deployments/${first.metadata.id}`)).json().metadata.generation,
      2,
      'idempotent',
    )
    await setStatus(first.metadata.id, { phase: 'Cancelled' })
    const finished = await api.delete(`/api/deployments/${first.metadata.id}`)
    assert.equal(finished.statusCode, 409)
    assert.equal(finished.json().code, 'GILGAL_DEPLOYMENT_FINISHED')
  })
})

describe('rollback', () => {
  test('a revision without an image cannot be rolled back to', async () => {
    const { projectId } = await setup()
    const [first] = (await deployments(projectId)).items
    assert.equal((await api.post(`/api/deployments/${first.metadata.id}/rollback`)).statusCode, 409)
  })

  test('rollback is a new revision with the old configuration, secrets included, and restores the environment', async () => {
    const { projectId, environmentId } = await setup({
      env: { MODE: 'one' },
      secretEnv: { KEY: 'old-secret' },
      port: 3000,
    })
    const [first] = (await deployments(projectId)).items
    await setStatus(first.metadata.id, { phase: 'Superseded', imageId: 'sha256:abc', commit: 'a'.repeat(40) })
    await api.put(`/api/environments/${environmentId}`, {
      spec: { env: { MODE: 'two' }, secretEnv: { KEY: 'new-secret' }, port: 4000 },
    })

    const response = await api.post(`/api/deployments/${first.metadata.id}/rollback`)
    assert.equal(response.statusCode, 201, response.body)
    const rolledBack = response.json()
    assert.equal(rolledBack.metadata.revision, 3)
    assert.deepEqual(rolledBack.metadata.trigger, { type: 'rollback', by: user.username })
    assert.deepEqual(rolledBack.spec.env, { MODE: 'one' })
    assert.equal(rolledBack.spec.port, 3000)
    assert.equal(rolledBack.spec.source.git.ref, 'a'.repeat(40), 'pinned to the commit that ran')
    assert.deepEqual(rolledBack.spec.rollbackOf, { id: first.metadata.id, revision: 1 })
    const { rows } = await db.pool.query(
      `select d.spec->'secretEnv' as rolled, (select spec->'secretEnv' from deployments where id = $2) as original,
              e.spec->'secretEnv' as environment
         from deployments d join environments e on e.id = d.environment_id where d.id = $1`,
      [rolledBack.metadata.id, first.metadata.id],
    )
    assert.deepEqual(rows[0].rolled, rows[0].original, 'the sealed secrets are the old revision’s exactly')
    assert.deepEqual(rows[0].environment, rows[0].original, 'and the environment’s')
    const environment = (await api.get(`/api/environments/${environmentId}`)).json()
    assert.deepEqual(environment.spec.env, { MODE: 'one' })
    assert.equal(environment.spec.source, undefined, 'the environment keeps following its ref')
    const next = (
      await api.post(`/api/projects/${projectId}/deployments`, { environment: 'production' })
    ).json()
    assert.equal(
      next.spec.source.git.ref,
      'HEAD',
      'a plain deploy after a rollback builds the newest commit again',
    )
    assert.equal(environment.spec.port, 3000)
    assert.equal(
      environment.metadata.latestRevision,
      3,
      'restoring the environment created no extra revision',
    )
  })
})

describe('logs', () => {
  test('build and rollout lines come back in order, after a given seq', async () => {
    const { projectId } = await setup()
    const [first] = (await deployments(projectId)).items
    for (const [seq, message] of [
      [1, 'cloning'],
      [2, 'building'],
      [3, 'done'],
    ] as const) {
      await db.pool.query(
        `insert into deployment_logs (deployment_id, seq, stream, message) values ($1, $2, 'system', $3)`,
        [first.metadata.id, seq, message],
      )
    }
    const all = (await api.get(`/api/deployments/${first.metadata.id}/logs`)).json().items
    assert.deepEqual(
      all.map((l: { message: string }) => l.message),
      ['cloning', 'building', 'done'],
    )
    const after = (await api.get(`/api/deployments/${first.metadata.id}/logs?after=2`)).json().items
    assert.deepEqual(
      after.map((l: { seq: number }) => l.seq),
      [3],
    )
  })
})
