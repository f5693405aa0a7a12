import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { after, before, test } from 'node:test'
import { buildTestApp, client, registerUser, type TestUser } from '../helpers/app.js'
import { startTestController, type TestController } from '../helpers/controller.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'
import { docker } from '../helpers/docker.js'
import { fixtureRepository } from '../helpers/fixtures.js'
import { waitFor } from '../helpers/wait.js'

// Tenant B names tenant A's freshly built image every way Docker would resolve it, through the API,
// with the real controller and engine: no container of B's may run A's image.
let db: TestDatabase
let app: FastifyInstance
let controller: TestController
let alice: TestUser
let bob: TestUser
let root: string

before(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool, { allowLocalSources: true })
  controller = await startTestController(db, 'tenants')
  root = controller.config.dataDir
  alice = await registerUser(app)
  bob = await registerUser(app)
})

after(async () => {
  await controller.stop()
  await app.close()
  await db.drop()
})

function apply(user: TestUser, yaml: string) {
  return app.inject({
    method: 'POST',
    url: '/api/apply',
    headers: { ...user.auth, 'content-type': 'application/yaml' },
    payload: yaml,
  })
}

const environment = (project: string, name: string, source: string) => `
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: ${name}, project: ${project} }
spec: { source: ${source}, healthCheck: { none: true }, rollout: { progressDeadlineSeconds: 10 } }
`

async function revisionStatus(user: TestUser, project: string, environmentName: string) {
  const list = await client(app, user).get(
    `/api/projects/${project}/deployments?environment=${environmentName}`,
  )
  return list.json().items[0].status as Record<string, string>
}

test("another tenant's image is never run, by tag, by id prefix or by id", async () => {
  const repo = await fixtureRepository('dockerfile-app', root)
  const built = await apply(
    alice,
    `apiVersion: gilgal.dev/v1\nkind: Project\nmetadata: { name: alpha }\n---${environment('alpha', 'production', `{ git: { url: '${repo.url}' } }`)}`,
  )
  assert.equal(built.statusCode, 200, built.body)
  const image = await waitFor(
    "alice's image",
    async () => {
      const status = await revisionStatus(alice, 'alpha', 'production')
      return status.imageId ? status : undefined
    },
    { timeoutMs: 60_000 },
  )

  const byId = await apply(
    bob,
    `apiVersion: gilgal.dev/v1\nkind: Project\nmetadata: { name: beta }\n---${environment('beta', 'by-id', `{ image: '${image.imageId}' }`)}`,
  )
  assert.equal(byId.statusCode, 422, 'an image id is not a name')
  assert.match(byId.json().errors[0].path, /\/spec\/source\/image$/)

  const prefix = image.imageId!.slice('sha256:'.length, 'sha256:'.length + 4)
  const attempts = await apply(
    bob,
    `apiVersion: gilgal.dev/v1\nkind: Project\nmetadata: { name: beta }\n---${environment('beta', 'by-tag', `{ image: '${image.imageTag}' }`)}---${environment('beta', 'by-prefix', `{ image: '${prefix}' }`)}`,
  )
  assert.equal(attempts.statusCode, 200, attempts.body)
  for (const name of ['by-tag', 'by-prefix']) {
    const status = await waitFor(
      `bob's ${name} revision to fail`,
      async () => {
        const current = await revisionStatus(bob, 'beta', name)
        return current.phase === 'Failed' ? current : undefined
      },
      { timeoutMs: 30_000 },
    )
    assert.equal(status.reason, 'ImageNotFound', `${name}: ${status.message}`)
    assert.equal(status.imageId, undefined)
  }
  const beta = (await client(app, bob).get('/api/projects/beta')).json().metadata.id
  const bobs = await docker.listContainers({ all: true, filters: { label: [`dev.gilgal.project=${beta}`] } })
  assert.deepEqual(bobs, [], 'no container of bob ran')
})
