import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { buildOpsApp } from '../../src/api/app.js'
import { createDockerClient, isDockerReachable } from '../../src/runtime/docker.js'
import { testVersion } from '../helpers/app.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'
import { freePort } from '../helpers/net.js'

let db: TestDatabase

before(async () => {
  db = await createTestDatabase()
})

after(async () => {
  await db.drop()
})

test("a controller's /readyz checks its Docker engine too: 200 while it answers, 503 naming it when not", async () => {
  const engineAt = async (host: string | undefined) => {
    const engine = createDockerClient(host)
    const ops = await buildOpsApp({
      pool: db.pool,
      log: testLog,
      version: testVersion,
      engineReachable: () => isDockerReachable(engine),
    })
    try {
      return await ops.inject({ method: 'GET', url: '/readyz' })
    } finally {
      await ops.close()
    }
  }
  const answering = await engineAt(process.env.DOCKER_HOST)
  assert.equal(answering.statusCode, 200)
  assert.deepEqual(answering.json().checks, { database: 'ok', docker: 'ok' })
  const gone = await engineAt(`tcp://127.0.0.1:${await freePort()}`)
  assert.equal(gone.statusCode, 503)
  assert.deepEqual(gone.json().checks, { database: 'ok', docker: 'unreachable' })
})
