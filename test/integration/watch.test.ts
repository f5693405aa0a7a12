import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { WatchHub } from '../../src/api/watch-hub.js'
import { readEvents, type ServerEvent } from '../../src/cli/client/sse.js'
import { writeEnvironmentStatus } from '../../src/store/environments.js'
import { removeDeleted } from '../../src/store/spec-tables.js'
import { buildTestApp, client, registerUser, type TestUser } from '../helpers/app.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'
import { waitFor } from '../helpers/wait.js'

// Watches over a real API and a real PostgreSQL: the controller's status writes are made here with
// the store function the controller uses.
let db: TestDatabase
let hub: WatchHub
let app: FastifyInstance
let base: string
let owner: TestUser
let environmentId: string

before(async () => {
  db = await createTestDatabase()
  hub = new WatchHub(db.url, testLog)
  await hub.start()
  app = await buildTestApp(db.pool, { watch: hub })
  await app.listen({ host: '127.0.0.1', port: 0 })
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  owner = await registerUser(app)
  const project = await client(app, owner).post('/api/projects', { name: 'watched', spec: {} })
  const environment = await client(app, owner).post(
    `/api/projects/${project.json().metadata.id}/environments`,
    {
      name: 'production',
      spec: {},
    },
  )
  environmentId = environment.json().metadata.id
})

after(async () => {
  await app?.close()
  await hub?.stop()
  await db?.drop()
})

interface Watcher {
  events: Array<ServerEvent & { at: number }>
  close(): void
}

/** A watch held open, collecting what it receives (and when). */
async function watch(path: string, user: TestUser, lastEventId?: string): Promise<Watcher> {
  const controller = new AbortController()
  const response = await fetch(`${base}${path}`, {
    headers: { ...user.auth, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: controller.signal,
  })
  assert.equal(response.status, 200)
  const events: Watcher['events'] = []
  void (async () => {
    for await (const event of readEvents(response.body!)) events.push({ ...event, at: performance.now() })
  })().catch(() => undefined)
  return { events, close: () => controller.abort() }
}

const phases = (w: Watcher) =>
  w.events.filter((e) => e.event === 'object').map((e) => JSON.parse(e.data).status.phase)

test('a watcher sees the environment now, then Progressing and Available as the controller writes them', async () => {
  const watcher = await watch(`/api/environments/${environmentId}?watch=true`, owner)
  try {
    await waitFor('the current object', async () => (watcher.events.length === 1 ? true : undefined))
    assert.deepEqual(phases(watcher), ['Pending'])
    const latencies: number[] = []
    for (const phase of ['Progressing', 'Available'] as const) {
      const written = performance.now()
      await writeEnvironmentStatus(db.pool, environmentId, { phase })
      await waitFor(
        `${phase} to reach the watcher`,
        async () => (phases(watcher).at(-1) === phase ? true : undefined),
        {
          intervalMs: 1,
        },
      )
      latencies.push(watcher.events.at(-1)!.at - written)
    }
    assert.deepEqual(phases(watcher), ['Pending', 'Progressing', 'Available'])
    console.log(`watch: status write → event ${latencies.map((ms) => ms.toFixed(1)).join(', ')} ms`)
    assert.ok(Math.max(...latencies) < 100, `within 100 ms: ${latencies.join(', ')}`)
    const ids = watcher.events.map((e) => Number(e.id))
    assert.deepEqual(
      [...ids].sort((a, b) => a - b),
      ids,
      'event ids are resource versions, increasing',
    )
  } finally {
    watcher.close()
  }
})

test('a write that changes nothing sends nothing; a client resuming with Last-Event-ID gets only what is newer', async () => {
  const first = await watch(`/api/environments/${environmentId}?watch=true`, owner)
  await waitFor('the current object', async () => (first.events.length === 1 ? true : undefined))
  const seen = first.events[0]!.id!
  first.close()
  await writeEnvironmentStatus(db.pool, environmentId, { phase: 'Available' }) // as it is: no change
  const resumed = await watch(`/api/environments/${environmentId}?watch=true`, owner, seen)
  try {
    await writeEnvironmentStatus(db.pool, environmentId, { phase: 'Degraded' })
    await waitFor('the change', async () => (resumed.events.length > 0 ? true : undefined))
    assert.deepEqual(phases(resumed), ['Degraded'], 'not the object it had already seen')
  } finally {
    resumed.close()
  }
})

test('500 watchers of one environment cost one read per change, not 500', async () => {
  const watchers = await Promise.all(
    Array.from({ length: 500 }, () => watch(`/api/environments/${environmentId}?watch=true`, owner)),
  )
  try {
    await waitFor('every watcher to have the current object', async () =>
      watchers.every((w) => w.events.length === 1) ? true : undefined,
    )
    const readsBefore = hub.reads
    await writeEnvironmentStatus(db.pool, environmentId, { phase: 'Available' })
    await waitFor('every watcher to see the change', async () =>
      watchers.every((w) => phases(w).at(-1) === 'Available') ? true : undefined,
    )
    // hub.reads counts the reads it makes for watchers (one query each).
    assert.equal(hub.reads - readsBefore, 1)
  } finally {
    for (const w of watchers) w.close()
  }
})

test("another user's environment cannot be watched (404), and a deleted one ends the watch", async () => {
  const stranger = await registerUser(app)
  const refused = await fetch(`${base}/api/environments/${environmentId}?watch=true`, {
    headers: stranger.auth,
  })
  assert.equal(refused.status, 404)
  const watcher = await watch(`/api/environments/${environmentId}?watch=true`, owner)
  await waitFor('the current object', async () => (watcher.events.length === 1 ? true : undefined))
  // As the controller removes it after its teardown.
  await db.pool.query('update environments set deletion_requested_at = now() where id = $1', [environmentId])
  await removeDeleted(db.pool, 'Environment', environmentId)
  await waitFor('the deleted event', async () =>
    watcher.events.at(-1)?.event === 'deleted' ? true : undefined,
  )
  watcher.close()
})

test('closing the app ends open watches at once, so a graceful stop does not wait on them', async () => {
  const other = await buildTestApp(db.pool, { watch: hub })
  await other.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(other.server.address() as AddressInfo).port}`
  const user = await registerUser(other)
  const project = await client(other, user).post('/api/projects', { name: 'closing', spec: {} })
  const response = await fetch(`${url}/api/projects/${project.json().metadata.id}/events?watch=true`, {
    headers: user.auth,
  })
  assert.equal(response.status, 200)
  const started = performance.now()
  await other.close()
  assert.ok(performance.now() - started < 2000, `closed in ${(performance.now() - started).toFixed(0)} ms`)
  await response.body?.cancel().catch(() => undefined)
})
