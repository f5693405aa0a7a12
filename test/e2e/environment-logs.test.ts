import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { after, before, test } from 'node:test'
import { buildTestApp, client, registerUser, type TestUser } from '../helpers/app.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, removeTestObjects } from '../helpers/docker.js'
import { createRolloutWorld, type RolloutWorld } from '../helpers/rollouts.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const image = `gilgal-test/logs:${runId}`
// Says hello on stdout and stderr, then ticks every 200 ms while it serves.
const CHATTY = [
  'sh',
  '-c',
  "trap 'exit 0' TERM; echo started; echo oops >&2; (while true; do echo tick; usleep 200000; done) & /bin/busybox httpd -f -p 8080 -h /www & wait",
]
let world: RolloutWorld
let app: FastifyInstance
let user: TestUser

before(async () => {
  await buildBusyboxImage(image, 'logs\n')
  world = await createRolloutWorld('logs')
  app = await buildTestApp(world.db.pool, { runtime: world.runtime })
  user = await registerUser(app)
  await world.db.pool.query('update projects set owner_id = $2 where id = $1', [world.projectId, user.id])
  const driver = world.drive()
  await world.deploy(image, { command: CHATTY })
  await waitFor(
    'the environment to be Available',
    async () => ((await world.environmentStatus()).phase === 'Available' ? true : undefined),
    { timeoutMs: 20_000 },
  )
  await driver.stop()
})

after(async () => {
  await app.close()
  await world.close()
  await removeTestObjects()
})

test('the last lines of the active containers, each tagged with its container and stream', async () => {
  const response = await client(app, user).get(`/api/environments/${world.environmentId}/logs?tail=50`)
  assert.equal(response.statusCode, 200, response.body)
  const items = response.json().items as Array<{
    container: string
    stream: string
    message: string
    at: string
  }>
  const container = `gilgal-${world.projectName}--production-r1-0`
  assert.ok(
    items.some(
      (line) => line.message === 'started' && line.stream === 'stdout' && line.container === container,
    ),
    response.body,
  )
  assert.ok(items.some((line) => line.message === 'oops' && line.stream === 'stderr'))
  assert.ok(
    items.every((line, index) => index === 0 || items[index - 1]!.at <= line.at),
    'in time order',
  )
})

test('a follower sees new lines as the containers write them', async () => {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const closed = new AbortController()
  const response = await fetch(
    `http://127.0.0.1:${port}/api/environments/${world.environmentId}/logs?follow=true&tail=0`,
    {
      headers: { ...user.auth, accept: 'text/event-stream' },
      signal: closed.signal,
    },
  )
  assert.equal(response.headers.get('content-type')?.startsWith('text/event-stream'), true)
  const reader = response.body!.getReader()
  let text = ''
  const reading = (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
      if (done) break
      text += Buffer.from(value!).toString()
    }
  })()
  await waitFor('two live ticks', async () =>
    (text.match(/"message":"tick"/g) ?? []).length >= 2 ? true : undefined,
  )
  assert.ok(!text.includes('"started"'), 'tail=0: only what was written after connecting')
  closed.abort()
  await reading
})

test('bad input is refused; a process without an engine says so', async () => {
  const api = client(app, user)
  assert.equal((await api.get(`/api/environments/${world.environmentId}/logs?tail=-1`)).statusCode, 400)
  assert.equal((await api.get(`/api/environments/00000000-0000-4000-8000-000000000000/logs`)).statusCode, 404)
  const engineless = await buildTestApp(world.db.pool)
  const response = await engineless.inject({
    method: 'GET',
    url: `/api/environments/${world.environmentId}/logs`,
    headers: user.auth,
  })
  assert.equal(response.statusCode, 503)
  assert.match(response.json().detail, /no Docker engine/)
  await engineless.close()
})
