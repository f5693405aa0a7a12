import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { announceLogs } from '../../src/log-bus.js'
import { DeploymentLogWriter } from '../../src/reconcilers/deployment/log-writer.js'
import { appendSystemLines } from '../../src/store/deployment-logs.js'
import { buildTestApp, client, registerUser, type TestUser } from '../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'
import { waitFor } from '../helpers/wait.js'

let db: TestDatabase
let app: FastifyInstance
let user: TestUser
let counter = 0

before(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool)
  user = await registerUser(app)
})

after(async () => {
  await app.close()
  await db.drop()
})

async function newDeployment(): Promise<string> {
  const api = client(app, user)
  const project = (
    await api.post('/api/projects', {
      name: `logs-${++counter}`,
      spec: { repository: { url: 'https://git.example.com/l.git' } },
    })
  ).json()
  await api.post(`/api/projects/${project.metadata.id}/environments`, { name: 'production' })
  return (await api.get(`/api/projects/${project.metadata.id}/deployments`)).json().items[0].metadata.id
}

/** Parses an event stream into its events. */
function events(text: string): Array<{ id?: string; event?: string; data?: unknown }> {
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => {
      const fields = Object.fromEntries(
        block
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
      )
      return { id: fields.id, event: fields.event, data: JSON.parse(fields.data!) }
    })
}

test('following a finished build replays its lines and ends', async () => {
  const id = await newDeployment()
  const writer = await DeploymentLogWriter.open(db.pool, id)
  writer.write('stdout', 'step one')
  writer.write('stderr', 'warning')
  await writer.flush()
  await db.pool.query(`update deployments set status = status || '{"phase":"Failed"}' where id = $1`, [id])
  const response = await app.inject({
    method: 'GET',
    url: `/api/deployments/${id}/logs?follow=true`,
    headers: user.auth,
  })
  assert.equal(response.statusCode, 200)
  assert.match(String(response.headers['content-type']), /^text\/event-stream/)
  const received = events(response.body)
  assert.deepEqual(
    received.map((e) => [
      e.event,
      e.id,
      (e.data as { message?: string }).message ?? (e.data as { phase?: string }).phase,
    ]),
    [
      ['log', '1', 'step one'],
      ['log', '2', 'warning'],
      ['end', undefined, 'Failed'],
    ],
  )
})

test('a follower sees lines as they are written, through the build and the rollout, and the stream ends when the revision settles', async () => {
  const id = await newDeployment()
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const response = await fetch(`http://127.0.0.1:${port}/api/deployments/${id}/logs?follow=true`, {
    headers: { ...user.auth, accept: 'text/event-stream' },
  })
  const reader = response.body!.getReader()
  let text = ''
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += Buffer.from(value).toString()
    }
  })()
  const writer = await DeploymentLogWriter.open(db.pool, id)
  writer.write('stdout', 'live line')
  const started = performance.now()
  await waitFor('the live line', async () => (text.includes('live line') ? true : undefined))
  assert.ok(performance.now() - started < 1500, 'delivered while the build runs')
  writer.write('stdout', 'last line')
  await writer.flush()
  // Built: the rollout's lines (the controller's, stream system) come next, then it settles.
  await db.pool.query(`update deployments set status = status || '{"imageId":"sha256:abc"}' where id = $1`, [
    id,
  ])
  await appendSystemLines(db.pool, id, [
    { message: 'every replica is healthy: traffic switched to this revision', level: 'info' },
  ])
  announceLogs(id)
  await waitFor('the rollout line', async () => (text.includes('traffic switched') ? true : undefined))
  await db.pool.query(`update deployments set status = status || '{"phase":"Active"}' where id = $1`, [id])
  await waitFor('the end event', async () => (text.includes('event: end') ? true : undefined), {
    timeoutMs: 5000,
  })
  assert.deepEqual(
    events(text).map((e) => e.event),
    ['log', 'log', 'log', 'end'],
  )
})
