import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createLogger } from '../../src/log.js'
import { buildTestApp, client, registerUser, type TestUser } from '../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

const SECRETS = ['sk_live_NEVER_SHOWN_1', 'registry-pass-NEVER_SHOWN_2', 'rotated-NEVER_SHOWN_3']

let db: TestDatabase
let app: FastifyInstance
let user: TestUser
let logged = ''

before(async () => {
  db = await createTestDatabase()
  // The real logger configuration (redaction included) at its most verbose, written to memory.
  const log = createLogger('trace', { write: (line: string) => void (logged += line) })
  app = await buildTestApp(db.pool, { log })
  user = await registerUser(app)
})

after(async () => {
  await app.close()
  await db.drop()
})

test('secret values appear in no response, no log line and no event', async () => {
  const api = client(app, user)
  const responses: string[] = []
  const record = async (promise: Promise<{ body: string }>) => responses.push((await promise).body)
  const registries = [{ server: 'registry.example.com', username: 'u', password: SECRETS[1] }]
  await record(
    api.post('/api/projects', {
      name: 'vault',
      spec: { repository: { url: 'https://git.example.com/v.git' }, registries },
    }),
  )
  await record(
    api.post('/api/projects/vault/environments', {
      name: 'production',
      spec: { secretEnv: { STRIPE_KEY: SECRETS[0] } },
    }),
  )
  const environment = JSON.parse(responses[1]!).metadata.id
  await record(api.get(`/api/environments/${environment}`))
  await record(
    api.put(`/api/environments/${environment}`, { spec: { secretEnv: { STRIPE_KEY: SECRETS[2] } } }),
  )
  await record(
    api.put(`/api/environments/${environment}`, { spec: { secretEnv: { 'BAD NAME': SECRETS[0] } } }),
  )
  await record(api.get('/api/projects/vault/deployments'))
  await record(api.get('/api/projects/vault'))
  await record(api.get('/api/projects/vault/events'))
  const manifest = `apiVersion: gilgal.dev/v1\nkind: Environment\nmetadata: { name: production, project: vault }\nspec: { secretEnv: { STRIPE_KEY: ${SECRETS[0]} } }\n`
  for (const query of ['?dryRun=true', '']) {
    await record(
      app.inject({
        method: 'POST',
        url: `/api/apply${query}`,
        headers: { ...user.auth, 'content-type': 'application/yaml' },
        payload: manifest,
      }),
    )
  }
  const { rows } = await db.pool.query(
    "select coalesce(string_agg(message || ' ' || coalesce(actor, ''), ' '), '') as text from events",
  )
  assert.ok(logged.includes('request completed'), 'the log was captured')
  assert.ok(responses[1]!.includes('STRIPE_KEY'), 'names are shown')
  for (const secret of SECRETS) {
    assert.ok(!responses.some((body) => body.includes(secret)), `${secret} in a response`)
    assert.ok(!logged.includes(secret), `${secret} in the log`)
    assert.ok(!rows[0].text.includes(secret), `${secret} in events`)
  }
})

test('the authorization header is redacted from logs', async () => {
  await app.inject({ method: 'GET', url: '/api/auth/me', headers: user.auth })
  assert.ok(!logged.includes(user.accessToken))
})
