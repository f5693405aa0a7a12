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

test('git credentials: never in a URL, write-only, bound to their URL, and never part of a deploy', async () => {
  const token = 'ghp_GIT_TOKEN_NEVER_SHOWN_4'
  const api = client(app, user)
  const inUrl = await api.post('/api/projects', {
    name: 'in-url',
    spec: { repository: { url: `https://deploy:${token}@git.example.com/r.git` } },
  })
  assert.equal(inUrl.statusCode, 422)
  assert.equal(inUrl.json().errors[0].path, '/spec/repository/url')

  const url = 'https://git.example.com/private.git'
  const created = await api.post('/api/projects', {
    name: 'private-repo',
    spec: { repository: { url, credentials: { username: 'deploy', password: token } } },
  })
  assert.equal(created.statusCode, 201, created.body)
  const environment = await api.post('/api/projects/private-repo/environments', { name: 'production' })
  assert.equal(environment.statusCode, 201, environment.body)
  const bodies = [
    created.body,
    environment.body,
    (await api.get('/api/projects/private-repo')).body,
    (await api.get('/api/projects/private-repo/deployments')).body,
  ]
  assert.deepEqual(created.json().spec.repository.credentials, { username: 'deploy' })
  assert.deepEqual(JSON.parse(bodies[3]!).items[0].spec.source.git.credentials, { username: 'deploy' })
  for (const body of bodies) assert.ok(!body.includes(token), 'the token in an answer')
  assert.ok(!logged.includes(token), 'the token in the log')
  const { rows } = await db.pool.query(`select spec from projects where name = 'private-repo'`)
  assert.match(rows[0].spec.repository.credentials.password, /^gse1:/, 'stored sealed')

  // Left out, the password is kept for the same URL and username; for another URL it must be given.
  const kept = await api.put('/api/projects/private-repo', {
    spec: { repository: { url, credentials: { username: 'deploy' } } },
  })
  assert.equal(kept.statusCode, 200, kept.body)
  const moved = await api.put('/api/projects/private-repo', {
    spec: { repository: { url: 'https://elsewhere.example.com/r.git', credentials: { username: 'deploy' } } },
  })
  assert.equal(moved.statusCode, 422)
  assert.equal(moved.json().errors[0].path, '/spec/repository/credentials/password')

  const deploy = await api.post('/api/projects/private-repo/deployments', {
    environment: 'production',
    source: { git: { url, credentials: { username: 'deploy', password: token } } },
  })
  assert.equal(deploy.statusCode, 422, 'a deploy stores its source as sent: no password in it')
  const sshPassword = await api.put('/api/projects/private-repo', {
    spec: { repository: { url: 'ssh://a@b:c@git.example.com/r.git' } },
  })
  assert.equal(sshPassword.statusCode, 422, 'a password in an ssh URL, behind a second @')
  const restated = await api.put(`/api/environments/${environment.json().metadata.id}`, {
    spec: { source: { git: { url, ref: 'release' } } },
  })
  assert.equal(restated.statusCode, 200, restated.body)
  const [latest] = (await api.get('/api/projects/private-repo/deployments')).json().items
  assert.deepEqual(
    latest.spec.source.git.credentials,
    { username: 'deploy' },
    "the project's, for its own URL",
  )
  const ssh = await api.put('/api/projects/private-repo', {
    spec: {
      repository: { url: 'ssh://git@git.example.com/r.git', credentials: { username: 'git', password: 'x' } },
    },
  })
  assert.equal(ssh.statusCode, 422)
  assert.match(ssh.json().errors[0].message, /for https remotes/)
})
