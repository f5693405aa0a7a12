import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify from 'fastify'
import { ConflictError, GilgalError, ValidationError } from '../../errors.js'
import { registerProblemHandler } from './problem.js'

async function appWithRoutes() {
  const app = Fastify({ logger: false })
  registerProblemHandler(app)
  app.get('/conflict', async () => {
    throw new ConflictError('project shop already exists', 'GILGAL_PROJECT_EXISTS')
  })
  app.get('/invalid', async () => {
    throw new ValidationError('manifest is invalid', [{ path: '/spec/port', message: 'must be <= 65535' }])
  })
  app.get('/crash', async () => {
    throw new Error('connection string postgres://secret@db leaked')
  })
  app.get('/database-gone', async () => {
    throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })
  })
  app.get('/engine-gone', async () => {
    throw new GilgalError('GILGAL_DOCKER_UNAVAILABLE', 503, 'Docker unavailable', 'Connection terminated', {
      expose: true,
    })
  })
  app.post(
    '/typed',
    { schema: { body: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } } },
    async () => ({}),
  )
  return app
}

test('our errors keep their status, code and message', async () => {
  const app = await appWithRoutes()
  const response = await app.inject({ method: 'GET', url: '/conflict' })
  assert.equal(response.statusCode, 409)
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/)
  assert.deepEqual(response.json(), {
    type: 'about:blank',
    title: 'Conflict',
    status: 409,
    detail: 'project shop already exists',
    instance: '/conflict',
    code: 'GILGAL_PROJECT_EXISTS',
  })
})

test('validation errors list each field', async () => {
  const app = await appWithRoutes()
  const ours = await app.inject({ method: 'GET', url: '/invalid' })
  assert.equal(ours.statusCode, 422)
  assert.deepEqual(ours.json().errors, [{ path: '/spec/port', message: 'must be <= 65535' }])
  const schema = await app.inject({ method: 'POST', url: '/typed', payload: { n: 'x' } })
  assert.equal(schema.statusCode, 400)
  assert.equal(schema.json().code, 'GILGAL_BAD_REQUEST')
  assert.deepEqual(schema.json().errors, [{ path: 'body/n', message: 'must be integer' }])
})

test('unexpected errors are a generic 500 that leaks nothing', async () => {
  const app = await appWithRoutes()
  const response = await app.inject({ method: 'GET', url: '/crash' })
  assert.equal(response.statusCode, 500)
  assert.equal(response.json().detail, 'internal error')
  assert.ok(!response.body.includes('secret'))
})

test('a lost database is a retryable 503; our own 503s keep their code', async () => {
  const app = await appWithRoutes()
  const lost = await app.inject({ method: 'GET', url: '/database-gone' })
  assert.deepEqual(
    [lost.statusCode, lost.json().code, lost.headers['retry-after']],
    [503, 'GILGAL_UNAVAILABLE', '2'],
  )
  const engine = await app.inject({ method: 'GET', url: '/engine-gone' })
  assert.deepEqual(
    [engine.statusCode, engine.json().code, engine.headers['retry-after']],
    [503, 'GILGAL_DOCKER_UNAVAILABLE', undefined],
  )
})
