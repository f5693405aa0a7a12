import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, client, registerUser, type TestUser } from '../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

let db: TestDatabase
let app: FastifyInstance
let owner: TestUser
let stranger: TestUser
const ids: Record<string, string> = {}

before(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool)
  owner = await registerUser(app)
  stranger = await registerUser(app)
  const api = client(app, owner)
  const project = (
    await api.post('/api/projects', {
      name: 'secret-shop',
      spec: { repository: { url: 'https://git.example.com/s.git' } },
    })
  ).json()
  const environment = (
    await api.post(`/api/projects/${project.metadata.id}/environments`, { name: 'production' })
  ).json()
  const [deployment] = (await api.get(`/api/projects/${project.metadata.id}/deployments`)).json().items
  const key = (await api.post('/api/auth/api-keys', { name: 'k', scope: 'write' })).json()
  Object.assign(ids, {
    project: project.metadata.id,
    environment: environment.metadata.id,
    deployment: deployment.metadata.id,
    apiKey: key.id,
  })
})

after(async () => {
  await app.close()
  await db.drop()
})

/**
 * How to aim each parameterised route at the owner's objects, and a body that passes validation (so
 * the answer is about ownership, not about the body). A route missing here fails the test.
 */
const targets: Record<string, { params: () => Record<string, string>[]; body?: object }> = {
  'GET /api/projects/{id}': { params: () => [{ id: ids.project! }, { id: 'secret-shop' }] },
  'PUT /api/projects/{id}': {
    params: () => [{ id: ids.project! }, { id: 'secret-shop' }],
    body: { spec: {} },
  },
  'DELETE /api/projects/{id}': { params: () => [{ id: ids.project! }, { id: 'secret-shop' }] },
  'GET /api/projects/{projectId}/events': {
    params: () => [{ projectId: ids.project! }, { projectId: 'secret-shop' }],
  },
  'GET /api/projects/{projectId}/environments': { params: () => [{ projectId: ids.project! }] },
  'POST /api/projects/{projectId}/environments': {
    params: () => [{ projectId: 'secret-shop' }],
    body: { name: 'intruder' },
  },
  'GET /api/projects/{projectId}/environments/{name}': {
    params: () => [{ projectId: 'secret-shop', name: 'production' }],
  },
  'GET /api/environments/{id}': { params: () => [{ id: ids.environment! }] },
  'PUT /api/environments/{id}': { params: () => [{ id: ids.environment! }], body: { spec: { replicas: 5 } } },
  'DELETE /api/environments/{id}': { params: () => [{ id: ids.environment! }] },
  'GET /api/environments/{id}/logs': { params: () => [{ id: ids.environment! }] },
  'GET /api/projects/{projectId}/deployments': { params: () => [{ projectId: ids.project! }] },
  'POST /api/projects/{projectId}/deployments': {
    params: () => [{ projectId: ids.project! }],
    body: { environment: 'production' },
  },
  'GET /api/projects/{projectId}/deployments/{name}': {
    params: () => [
      { projectId: 'secret-shop', name: 'production-r1' },
      { projectId: ids.project!, name: ids.deployment! },
    ],
  },
  'GET /api/deployments/{id}': { params: () => [{ id: ids.deployment! }] },
  'GET /api/deployments/{id}/logs': { params: () => [{ id: ids.deployment! }] },
  'POST /api/deployments/{id}/rollback': { params: () => [{ id: ids.deployment! }] },
  'DELETE /api/deployments/{id}': { params: () => [{ id: ids.deployment! }] },
  'DELETE /api/auth/api-keys/{id}': { params: () => [{ id: ids.apiKey! }] },
}

function routesWithParameters(): string[] {
  const paths = (app.swagger() as { paths: Record<string, Record<string, unknown>> }).paths
  return Object.entries(paths).flatMap(([path, methods]) =>
    path.includes('{') ? Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`) : [],
  )
}

async function snapshot(): Promise<unknown> {
  const { rows } = await db.pool.query(`select
    (select json_agg(json_build_object('g', generation, 'd', deletion_requested_at)) from projects) as projects,
    (select json_agg(json_build_object('g', generation, 'd', deletion_requested_at)) from environments) as environments,
    (select json_agg(json_build_object('g', generation, 'c', cancel_requested_at)) from deployments) as deployments,
    (select count(*) from events) as events,
    (select count(*) from api_keys where revoked_at is null) as keys`)
  return rows[0]
}

test("every route answers 404 for another user's objects, by id or by name, and writes nothing", async () => {
  const routes = routesWithParameters()
  assert.ok(routes.length >= 15, `the route table was read (${routes.length} routes)`)
  const missing = routes.filter((route) => !targets[route])
  assert.deepEqual(missing, [], 'every parameterised route has a target in this test')
  const before = await snapshot()
  for (const route of routes) {
    const [method, template] = route.split(' ') as [string, string]
    for (const params of targets[route]!.params()) {
      const url = template.replace(/\{(\w+)\}/g, (_, name: string) => params[name]!)
      const response = await app.inject({
        method: method as 'GET',
        url,
        headers: stranger.auth,
        payload: targets[route]!.body,
      })
      assert.equal(response.statusCode, 404, `${method} ${url}: ${response.body}`)
      assert.match(String(response.headers['content-type']), /problem\+json/)
    }
  }
  assert.deepEqual(await snapshot(), before)
})

test("lists show nothing of another user's", async () => {
  const api = client(app, stranger)
  assert.deepEqual((await api.get('/api/projects')).json().items, [])
  assert.deepEqual((await api.get('/api/auth/api-keys')).json().items, [])
})

test('a project name another user holds is a 409 that names nobody, by POST and by apply; theirs is untouched', async () => {
  const before = await snapshot()
  const api = client(app, stranger)
  const posted = await api.post('/api/projects', { name: 'secret-shop' })
  assert.equal(posted.statusCode, 409)
  const applied = await app.inject({
    method: 'POST',
    url: '/api/apply',
    headers: { ...stranger.auth, 'content-type': 'application/yaml' },
    payload:
      'apiVersion: gilgal.dev/v1\nkind: Project\nmetadata: { name: secret-shop }\nspec: { displayName: Mine }\n',
  })
  assert.equal(applied.statusCode, 409)
  for (const response of [posted, applied]) {
    assert.match(response.json().detail, /project secret-shop already exists/)
    assert.doesNotMatch(response.body, new RegExp(`${owner.username}|${owner.email}|${ids.project}`, 'i'))
  }
  assert.deepEqual(await snapshot(), before)
})
