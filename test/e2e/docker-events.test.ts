import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { DockerEventWatcher } from '../../src/controller/docker-events.js'
import { ControllerManager } from '../../src/controller/manager.js'
import type { Reconciler } from '../../src/controller/reconciler.js'
import { createPool } from '../../src/store/pool.js'
import { createMetrics } from '../../src/metrics/registry.js'
import { createDockerClient } from '../../src/runtime/docker.js'
import { createDockerRuntime } from '../../src/runtime/docker-runtime.js'
import { LABELS } from '../../src/runtime/labels.js'
import { createTestDatabase, testEnv, testLog } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects, testLabels } from '../helpers/docker.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const image = `gilgal-test/events:${runId}`
const seen: Array<{ environmentId: string; at: number }> = []
let reconnections = 0
const metrics = createMetrics()
// Events of every managed container: the test's containers carry the managed label, no instance.
const runtime = createDockerRuntime(createDockerClient(process.env.DOCKER_HOST))
const watcher = new DockerEventWatcher({
  runtime,
  log: testLog,
  metrics,
  onEnvironment: (environmentId) => seen.push({ environmentId, at: performance.now() }),
  onReconnected: () => reconnections++,
})

before(async () => {
  await buildBusyboxImage(image, 'events\n')
  await watcher.start()
})

after(async () => {
  watcher.stop()
  await removeTestObjects()
})

async function runManagedContainer(environmentId: string) {
  const container = await docker.createContainer({
    Image: image,
    Labels: testLabels({ [LABELS.managed]: 'true', [LABELS.environment]: environmentId }),
  })
  await container.start()
  return container
}

async function killAndTime(environmentId: string): Promise<number> {
  const container = await runManagedContainer(environmentId)
  const killedAt = performance.now()
  await container.kill()
  const event = await waitFor('the environment to be enqueued', async () =>
    seen.find((entry) => entry.environmentId === environmentId),
  )
  return event.at - killedAt
}

test('killing a labelled container enqueues its environment within 500 ms', async () => {
  const latency = await killAndTime(randomUUID())
  assert.ok(latency <= 500, `enqueued ${latency.toFixed(1)} ms after the kill`)
  const died = (await metrics.dockerEvents.get()).values.find((v) => v.labels.action === 'die')
  assert.ok((died?.value ?? 0) >= 1)
})

test('a dropped event stream is re-opened, asks for a resync, and keeps delivering', async () => {
  await watcher.reconnect()
  await waitFor('the resync request', async () => (reconnections > 0 ? true : undefined))
  const latency = await killAndTime(randomUUID())
  assert.ok(latency <= 500, `enqueued ${latency.toFixed(1)} ms after the kill`)
})

test('unlabelled containers produce nothing', async () => {
  const environmentId = randomUUID()
  const container = await docker.createContainer({
    Image: image,
    Labels: testLabels({ [LABELS.environment]: environmentId }),
  })
  await container.start()
  await container.kill()
  const marker = randomUUID()
  await killAndTime(marker) // a managed kill after it, as a fence in the event order
  assert.equal(
    seen.some((entry) => entry.environmentId === environmentId),
    false,
  )
})

test('the controller manager enqueues the environment of a killed container', async () => {
  const db = await createTestDatabase()
  const pool = createPool(db.url, testLog, 2)
  const reconciled: string[] = []
  const idle: Reconciler = { reconcile: async () => ({}) }
  const recorder: Reconciler = { reconcile: async (key) => (reconciled.push(`${key.kind}/${key.id}`), {}) }
  const manager = new ControllerManager({
    pool,
    databaseUrl: db.url,
    log: testLog,
    metrics: createMetrics(),
    resyncSeconds: 3600,
    runtime,
    lease: { ttlMs: 3000, renewMs: 500 },
    onFatal: (error) => assert.fail(error.message),
    buildReconcilers: () => ({ Project: idle, Environment: recorder, Deployment: idle }),
  })
  try {
    await manager.start()
    await waitFor('leadership', async () => (manager.elector.isLeader ? true : undefined))
    const environmentId = randomUUID()
    const container = await runManagedContainer(environmentId)
    await container.kill()
    await waitFor('the environment to be reconciled', async () =>
      reconciled.includes(`Environment/${environmentId}`) ? true : undefined,
    )
  } finally {
    await manager.stop(2000)
    await pool.end()
    await db.drop()
  }
})
