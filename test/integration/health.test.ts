import assert from 'node:assert/strict'
import { registerPhaseGauges } from '../../src/metrics/phases.js'
import { createMetrics } from '../../src/metrics/registry.js'
import { after, before, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createPool } from '../../src/store/pool.js'
import { buildTestApp, testVersion } from '../helpers/app.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'
import { freePort } from '../helpers/net.js'

let db: TestDatabase
let app: FastifyInstance

before(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool)
})

after(async () => {
  await app.close()
  await db.drop()
})

test('/health answers while the process lives', async () => {
  const response = await app.inject({ method: 'GET', url: '/health' })
  assert.equal(response.statusCode, 200)
  assert.deepEqual(response.json(), { status: 'ok' })
})

test('/readyz is 200 when the database answers', async () => {
  const response = await app.inject({ method: 'GET', url: '/readyz' })
  assert.equal(response.statusCode, 200)
  assert.deepEqual(response.json(), { status: 'ready', checks: { database: 'ok' } })
})

test('/readyz is 503 when the database does not answer', async () => {
  const deadPool = createPool(`postgres://nobody:x@127.0.0.1:${await freePort()}/none`, testLog, 1)
  const deadApp = await buildTestApp(deadPool)
  try {
    const response = await deadApp.inject({ method: 'GET', url: '/readyz' })
    assert.equal(response.statusCode, 503)
    assert.deepEqual(response.json(), { status: 'not ready', checks: { database: 'unreachable' } })
  } finally {
    await deadApp.close()
    await deadPool.end()
  }
})

test('a write while the database is unreachable answers a retryable 503 with Retry-After', async () => {
  const deadPool = createPool(`postgres://nobody:x@127.0.0.1:${await freePort()}/none`, testLog, 1)
  const deadApp = await buildTestApp(deadPool)
  try {
    const payload = { email: 'late@example.com', username: 'late', password: 'correct horse battery' }
    const response = await deadApp.inject({ method: 'POST', url: '/api/auth/register', payload })
    assert.equal(response.statusCode, 503, response.body)
    assert.equal(response.headers['retry-after'], '2')
    assert.equal(response.json().code, 'GILGAL_UNAVAILABLE')
    assert.doesNotMatch(response.body, /ECONNREFUSED|127\.0\.0\.1/, 'no internals in the answer')
  } finally {
    await deadApp.close()
    await deadPool.end()
  }
})

test('/version reports the version, commit and node', async () => {
  const response = await app.inject({ method: 'GET', url: '/version' })
  assert.deepEqual(response.json(), testVersion)
})

test('a request id is generated, or taken from x-request-id, and echoed', async () => {
  const generated = await app.inject({ method: 'GET', url: '/health' })
  assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/)
  const given = await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-42' } })
  assert.equal(given.headers['x-request-id'], 'trace-42')
})

test('an unknown route answers problem+json 404', async () => {
  const response = await app.inject({ method: 'GET', url: '/nowhere?x=1' })
  assert.equal(response.statusCode, 404)
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/)
  assert.deepEqual(response.json(), {
    type: 'about:blank',
    title: 'Not found',
    status: 404,
    detail: 'no route for GET /nowhere',
    instance: '/nowhere?x=1',
    code: 'GILGAL_ROUTE_NOT_FOUND',
  })
})

test('the OpenAPI document lists the routes, and Swagger UI serves it', async () => {
  const openapi = await app.inject({ method: 'GET', url: '/api/openapi.json' })
  assert.equal(openapi.statusCode, 200)
  const paths = Object.keys(openapi.json().paths)
  for (const path of [
    '/api/apply',
    '/api/projects/{id}',
    '/api/deployments/{id}/rollback',
    '/api/auth/login',
  ]) {
    assert.ok(paths.includes(path), path)
  }
  const docs = await app.inject({ method: 'GET', url: '/docs/' })
  assert.equal(docs.statusCode, 200)
  assert.match(docs.body, /swagger/i)
})

test('/metrics serves Prometheus text with every known series, behind the token when one is set', async () => {
  await app.inject({ method: 'GET', url: '/health' })
  const response = await app.inject({ method: 'GET', url: '/metrics' })
  assert.equal(response.statusCode, 200)
  assert.match(String(response.headers['content-type']), /^text\/plain/)
  assert.match(response.body, /gilgal_reconcile_total\{kind="Environment",result="error"\} 0/)
  assert.match(
    response.body,
    /gilgal_http_request_duration_seconds_count\{method="GET",route="\/health",status_code="200"\} [1-9]/,
  )
  assert.match(response.body, /process_cpu_seconds_total/)

  const guarded = await buildTestApp(db.pool, { metricsToken: 'scrape-token-0123456789' })
  try {
    assert.equal((await guarded.inject({ method: 'GET', url: '/metrics' })).statusCode, 401)
    const headers = { authorization: 'Bearer scrape-token-0123456789' }
    assert.equal((await guarded.inject({ method: 'GET', url: '/metrics', headers })).statusCode, 200)
  } finally {
    await guarded.close()
  }
})

test('/metrics in production is served to nobody until GILGAL_METRICS_TOKEN is set', async () => {
  const closed = await buildTestApp(db.pool, { requireMetricsToken: true })
  try {
    const response = await closed.inject({ method: 'GET', url: '/metrics' })
    assert.equal(response.statusCode, 403)
    assert.match(response.json().detail, /set GILGAL_METRICS_TOKEN/)
  } finally {
    await closed.close()
  }
  const tokened = await buildTestApp(db.pool, {
    requireMetricsToken: true,
    metricsToken: 'scrape-token-0123456789',
  })
  try {
    const headers = { authorization: 'Bearer scrape-token-0123456789' }
    assert.equal((await tokened.inject({ method: 'GET', url: '/metrics', headers })).statusCode, 200)
  } finally {
    await tokened.close()
  }
})

test('/metrics counts revisions and environments by phase, from the database at scrape time', async () => {
  const metrics = createMetrics()
  registerPhaseGauges(metrics, db.pool)
  const scraping = await buildTestApp(db.pool, { metrics })
  try {
    await db.pool.query(`
      with u as (insert into users (email, username, password_hash) values ('m@example.com', 'm', 'x') returning id),
           p as (insert into projects (owner_id, name) select id, 'metered' from u returning id),
           e as (insert into environments (project_id, name, status) select id, 'production', '{"phase":"Available"}' from p returning id, project_id)
      insert into deployments (project_id, environment_id, revision, spec, status)
      select project_id, id, n, '{}', jsonb_build_object('phase', case when n = 1 then 'Superseded' else 'Active' end)
        from e, generate_series(1, 2) n`)
    const body = (await scraping.inject({ method: 'GET', url: '/metrics' })).body
    assert.match(body, /gilgal_deployments\{phase="Active"\} 1/)
    assert.match(body, /gilgal_deployments\{phase="Superseded"\} 1/)
    assert.match(body, /gilgal_deployments\{phase="Failed"\} 0/)
    assert.match(body, /gilgal_environments\{phase="Available"\} 1/)
  } finally {
    await scraping.close()
  }
})
