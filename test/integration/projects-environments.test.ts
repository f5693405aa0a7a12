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

const repository = { url: 'https://github.com/acme/shop.git', ref: 'main' }
let counter = 0
const uniqueName = (prefix: string) => `${prefix}-${++counter}`

async function createProject(spec: object = { repository }): Promise<{ id: string; name: string }> {
  const response = await api.post('/api/projects', { name: uniqueName('shop'), spec })
  assert.equal(response.statusCode, 201, response.body)
  return response.json().metadata
}

async function createEnvironment(projectId: string, spec: object = {}) {
  const response = await api.post(`/api/projects/${projectId}/environments`, {
    name: uniqueName('env'),
    spec,
  })
  assert.equal(response.statusCode, 201, response.body)
  return response.json()
}

async function revisionsOf(projectId: string, environment: string): Promise<number[]> {
  const response = await api.get(`/api/projects/${projectId}/deployments?environment=${environment}`)
  return response.json().items.map((d: { metadata: { revision: number } }) => d.metadata.revision)
}

describe('projects', () => {
  test('create answers the stored resource with defaults filled in', async () => {
    const response = await api.post('/api/projects', {
      name: 'created',
      labels: { team: 'web' },
      spec: { displayName: 'Shop' },
    })
    assert.equal(response.statusCode, 201)
    const project = response.json()
    assert.equal(project.apiVersion, 'gilgal.dev/v1')
    assert.equal(project.kind, 'Project')
    assert.equal(project.metadata.name, 'created')
    assert.equal(project.metadata.generation, 1)
    assert.deepEqual(project.metadata.labels, { team: 'web' })
    assert.deepEqual(project.spec, { displayName: 'Shop', framework: 'auto' })
    assert.equal((await api.post('/api/projects', { name: 'created' })).statusCode, 409)
  })

  test('a name is turned into its slug, and kept as the display name', async () => {
    const response = await api.post('/api/projects', { name: 'Café Crème Shop!' })
    assert.equal(response.statusCode, 201)
    assert.equal(response.json().metadata.name, 'cafe-creme-shop')
    assert.equal(response.json().spec.displayName, 'Café Crème Shop!')
    const unusable = await api.post('/api/projects', { name: '!!!' })
    assert.equal(unusable.statusCode, 422)
    assert.deepEqual(unusable.json().errors, [
      { path: '/name', message: 'needs at least one letter or digit' },
    ])
  })

  test('GET by id and by name; lists paginate with a cursor', async () => {
    const own = await registerUser(app)
    const ownApi = client(app, own)
    for (const name of ['alpha', 'beta', 'gamma']) await ownApi.post('/api/projects', { name })
    const byName = (await ownApi.get('/api/projects/beta')).json()
    assert.equal((await ownApi.get(`/api/projects/${byName.metadata.id}`)).json().metadata.name, 'beta')
    const first = (await ownApi.get('/api/projects?limit=2')).json()
    assert.deepEqual(
      first.items.map((p: { metadata: { name: string } }) => p.metadata.name),
      ['alpha', 'beta'],
    )
    const second = (await ownApi.get(`/api/projects?limit=2&cursor=${first.nextCursor}`)).json()
    assert.deepEqual(
      second.items.map((p: { metadata: { name: string } }) => p.metadata.name),
      ['gamma'],
    )
    assert.equal(second.nextCursor, null)
    assert.equal((await ownApi.get('/api/projects?cursor=garbage')).statusCode, 422)
  })

  test('PUT bumps generation only when the spec really changes', async () => {
    const { id } = await createProject()
    const same = await api.put(`/api/projects/${id}`, { spec: { repository } })
    assert.equal(same.json().metadata.generation, 1)
    const changed = await api.put(`/api/projects/${id}`, { spec: { repository, framework: 'node' } })
    assert.equal(changed.json().metadata.generation, 2)
    assert.equal(changed.json().spec.framework, 'node')
  })

  test('an invalid spec is a 422 naming the field, and nothing is written', async () => {
    const { id } = await createProject()
    const response = await api.put(`/api/projects/${id}`, { spec: { framework: 'cobol', ownerId: 'x' } })
    assert.equal(response.statusCode, 422)
    const paths = response.json().errors.map((e: { path: string }) => e.path)
    assert.deepEqual(paths.sort(), ['/spec/framework', '/spec/ownerId'])
    assert.equal((await api.get(`/api/projects/${id}`)).json().metadata.generation, 1)
  })

  test('registry passwords are write-only: sealed, never returned, kept when omitted', async () => {
    const registries = [{ server: 'registry.example.com', username: 'deploy', password: 'hunter2-registry' }]
    const { id } = await createProject({ registries })
    const shown = await api.get(`/api/projects/${id}`)
    assert.deepEqual(shown.json().spec.registries, [{ server: 'registry.example.com', username: 'deploy' }])
    assert.ok(!shown.body.includes('hunter2'))
    await api.put(`/api/projects/${id}`, {
      spec: { registries: [{ server: 'registry.example.com', username: 'deploy' }] },
    })
    const { rows } = await db.pool.query('select spec::text as spec from projects where id = $1', [id])
    assert.ok(!rows[0].spec.includes('hunter2'))
    assert.match(rows[0].spec, /"password": "gse1:test:/)
  })

  test('DELETE requests deletion (202, phase Deleting); a project being deleted takes no changes', async () => {
    const { id } = await createProject()
    const deleted = await api.delete(`/api/projects/${id}`)
    assert.equal(deleted.statusCode, 202)
    assert.equal(deleted.json().status.phase, 'Deleting')
    assert.ok(deleted.json().metadata.deletionRequestedAt)
    assert.equal((await api.put(`/api/projects/${id}`, { spec: {} })).statusCode, 409)
    assert.equal((await api.post(`/api/projects/${id}/environments`, { name: 'late' })).statusCode, 409)
  })
})

describe('environments', () => {
  test('creating one with a source creates revision 1 in the same write; without a source, none', async () => {
    const withRepo = await createProject()
    const environment = await createEnvironment(withRepo.id, { port: 3000 })
    assert.equal(environment.metadata.latestRevision, 1)
    assert.equal(environment.status.phase, 'Pending')
    assert.deepEqual(await revisionsOf(withRepo.id, environment.metadata.name), [1])
    const [deployment] = (await api.get(`/api/projects/${withRepo.id}/deployments`)).json().items
    assert.deepEqual(deployment.spec.source, { git: { url: repository.url, ref: 'main', path: '.' } })
    assert.deepEqual(deployment.metadata.trigger, { type: 'api', by: user.username })
    assert.equal(deployment.status.phase, 'Queued')

    const bare = await createProject({})
    const noSource = await createEnvironment(bare.id)
    assert.equal(noSource.metadata.latestRevision, 0)
    const gitWithoutUrl = await api.post(`/api/projects/${bare.id}/environments`, {
      name: 'x',
      spec: { source: { git: { ref: 'main' } } },
    })
    assert.equal(gitWithoutUrl.statusCode, 422)
  })

  test('a project’s environments list in name order, a page at a time', async () => {
    const project = await createProject()
    for (const name of ['c-env', 'a-env', 'b-env'])
      await api.post(`/api/projects/${project.id}/environments`, { name })
    const first = (await api.get(`/api/projects/${project.name}/environments?limit=2`)).json()
    const second = (
      await api.get(`/api/projects/${project.id}/environments?limit=2&cursor=${first.nextCursor}`)
    ).json()
    assert.deepEqual(
      [...first.items, ...second.items].map((e: { metadata: { name: string } }) => e.metadata.name),
      ['a-env', 'b-env', 'c-env'],
    )
    assert.equal(second.nextCursor, null)
    const empty = await createProject()
    assert.deepEqual((await api.get(`/api/projects/${empty.id}/environments`)).json(), {
      items: [],
      nextCursor: null,
    })
    assert.equal((await api.get('/api/projects/no-such-project/environments')).statusCode, 404)
  })

  test('GET by id and by project and name', async () => {
    const project = await createProject()
    const environment = await createEnvironment(project.id)
    const byId = await api.get(`/api/environments/${environment.metadata.id}`)
    const byName = await api.get(`/api/projects/${project.name}/environments/${environment.metadata.name}`)
    assert.equal(byId.statusCode, 200)
    assert.deepEqual(byId.json(), byName.json())
    assert.equal((await api.get(`/api/projects/${project.name}/environments/nope`)).statusCode, 404)
  })

  test('in-place fields change the generation but create no revision; snapshotted fields create one', async () => {
    const project = await createProject()
    const environment = await createEnvironment(project.id, { env: { A: '1' } })
    const url = `/api/environments/${environment.metadata.id}`
    const scaled = await api.put(url, {
      spec: { env: { A: '1' }, replicas: 3, domains: ['shop.example.com'], paused: true },
    })
    assert.equal(scaled.json().metadata.generation, 2)
    assert.deepEqual(await revisionsOf(project.id, environment.metadata.name), [1])
    const reconfigured = await api.put(url, {
      spec: { env: { A: '2' }, replicas: 3, domains: ['shop.example.com'], paused: true },
    })
    assert.equal(reconfigured.json().metadata.generation, 3)
    assert.deepEqual(await revisionsOf(project.id, environment.metadata.name), [2, 1])
    const again = await api.put(url, {
      spec: { env: { A: '2' }, replicas: 3, domains: ['shop.example.com'], paused: true },
    })
    assert.equal(again.json().metadata.generation, 3, 'the same spec again changes nothing')
    assert.deepEqual(await revisionsOf(project.id, environment.metadata.name), [2, 1])
  })

  test('secretEnv: sealed at rest, names only in answers, merged on write', async () => {
    const project = await createProject()
    const environment = await createEnvironment(project.id, {
      secretEnv: { STRIPE_KEY: 'sk_live_abc123', OLD: 'x-secret-old' },
    })
    assert.deepEqual(environment.spec.secretEnv, ['OLD', 'STRIPE_KEY'])
    const url = `/api/environments/${environment.metadata.id}`
    const unchanged = await api.put(url, { spec: { secretEnv: { STRIPE_KEY: 'sk_live_abc123' } } })
    assert.equal(unchanged.json().metadata.generation, 1, 'the same secret value is no change')
    const removed = await api.put(url, { spec: { secretEnv: { OLD: null } } })
    assert.deepEqual(removed.json().spec.secretEnv, ['STRIPE_KEY'])
    assert.deepEqual(await revisionsOf(project.id, environment.metadata.name), [2, 1])
    const { rows } = await db.pool.query(
      `select e.spec::text as env, string_agg(d.spec::text, ' ') as revisions
         from environments e join deployments d on d.environment_id = e.id where e.id = $1 group by e.spec`,
      [environment.metadata.id],
    )
    for (const text of [rows[0].env, rows[0].revisions]) {
      assert.ok(!text.includes('sk_live_abc123') && !text.includes('x-secret-old'))
    }
  })

  test('hostile specs are refused with a clear 4xx and write nothing', async () => {
    const project = await createProject()
    const cases: Array<[object, RegExp]> = [
      [{ privileged: true }, /never grants privileged containers/],
      [{ volumes: ['/var/run/docker.sock:/var/run/docker.sock'] }, /host mounts/],
      [{ network: 'host' }, /host networking/],
      [{ capAdd: ['SYS_ADMIN'] }, /added capabilities/],
      [{ env: { 'NOT-VALID': 'x' } }, /\/spec\/env\/NOT-VALID/],
      [{ source: { git: { url: 'ext::sh -c id' } } }, /\/spec\/source\/git\/url/],
      [{ source: { git: { url: 'file:///etc' } } }, /local source/],
      [{ source: { git: { url: repository.url, ref: '--upload-pack=x' } } }, /\/spec\/source\/git\/ref/],
      [{ status: { phase: 'Active' } }, /\/spec\/status/],
      [{ generation: 7 }, /\/spec\/generation/],
      [{ healthCheck: { http: {}, tcp: {} } }, /at most one of/],
      [{ user: '0' }, /\/spec\/user/],
      [{ user: '1000:0' }, /\/spec\/user/],
      [{ user: 'root' }, /\/spec\/user/],
    ]
    for (const [spec, message] of cases) {
      const response = await api.post(`/api/projects/${project.id}/environments`, { name: 'hostile', spec })
      assert.ok(
        response.statusCode >= 400 && response.statusCode < 500,
        `${JSON.stringify(spec)}: ${response.statusCode}`,
      )
      assert.match(response.body, message, JSON.stringify(spec))
    }
    assert.equal((await api.get(`/api/projects/${project.id}/environments/hostile`)).statusCode, 404)
  })

  test('local sources are accepted only when the server allows them', async () => {
    const permissive = await buildTestApp(db.pool, { allowLocalSources: true })
    try {
      const project = await createProject({})
      const response = await permissive.inject({
        method: 'POST',
        url: `/api/projects/${project.id}/environments`,
        headers: user.auth,
        payload: { name: 'local', spec: { source: { git: { url: 'file:///srv/repo.git' } } } },
      })
      assert.equal(response.statusCode, 201, response.body)
    } finally {
      await permissive.close()
    }
  })

  test('DELETE requests deletion; events record who did what', async () => {
    const project = await createProject()
    const environment = await createEnvironment(project.id, { secretEnv: { TOKEN: 'tok-never-logged' } })
    const deleted = await api.delete(`/api/environments/${environment.metadata.id}`)
    assert.equal(deleted.statusCode, 202)
    assert.equal(deleted.json().status.phase, 'Deleting')
    const events = (await api.get(`/api/projects/${project.id}/events`)).json().items
    assert.deepEqual(
      events.map((e: { reason: string }) => e.reason),
      ['DeletionRequested', 'RevisionCreated', 'Created', 'Created'],
    )
    assert.ok(events.every((e: { actor: string }) => e.actor === user.username))
    const { rows } = await db.pool.query(
      "select count(*)::int as n from events where message like '%tok-never-logged%'",
    )
    assert.equal(rows[0].n, 0)
  })
})
