import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { DeploymentLogWriter } from '../../src/reconcilers/deployment/log-writer.js'
import { listDeploymentLogs } from '../../src/store/deployment-logs.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'
import { waitFor } from '../helpers/wait.js'

let db: TestDatabase
let deploymentId: string

before(async () => {
  db = await createTestDatabase()
  const { rows } = await db.pool.query(`
    with u as (insert into users (email, username, password_hash) values ('log@example.com', 'log', 'x') returning id),
         p as (insert into projects (owner_id, name) select id, 'logs' from u returning id),
         e as (insert into environments (project_id, name) select id, 'production' from p returning id, project_id)
    insert into deployments (project_id, environment_id, revision, spec) select project_id, id, 1, '{}' from e returning id`)
  deploymentId = rows[0].id
})

after(async () => {
  await db.drop()
})

test('lines are written in batches, in order, and a restarted writer continues the numbering', async () => {
  const writer = await DeploymentLogWriter.open(db.pool, deploymentId)
  for (let i = 1; i <= 450; i++) writer.write(i % 10 === 0 ? 'stderr' : 'stdout', `line ${i}`)
  await writer.flush()
  const lines = await listDeploymentLogs(db.pool, deploymentId, 0, 1000)
  assert.deepEqual(
    lines.map((l) => l.seq),
    Array.from({ length: 450 }, (_, i) => i + 1),
  )
  assert.equal(lines[9]!.message, 'line 10')
  assert.deepEqual([lines[9]!.stream, lines[9]!.level], ['stderr', 'error'])
  assert.deepEqual([lines[0]!.stream, lines[0]!.level], ['stdout', 'info'])

  const resumed = await DeploymentLogWriter.open(db.pool, deploymentId)
  resumed.write('system', 'x'.repeat(20_000))
  await resumed.flush()
  const [next] = await listDeploymentLogs(db.pool, deploymentId, 450, 10)
  assert.equal(next!.seq, 451)
  assert.equal(next!.message.length, 8192, 'long lines are cut')
})

test('a few lines are flushed on their own shortly after', async () => {
  const writer = await DeploymentLogWriter.open(db.pool, deploymentId)
  const from = (await listDeploymentLogs(db.pool, deploymentId, 0, 10_000)).length
  writer.write('stdout', 'a')
  writer.write('stdout', 'b')
  const written = await waitFor('the timed flush', async () => {
    const lines = await listDeploymentLogs(db.pool, deploymentId, from, 10)
    return lines.length === 2 ? lines : undefined
  })
  assert.deepEqual(
    written.map((l) => l.message),
    ['a', 'b'],
  )
})
