import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { createLogger } from '../../src/log.js'
import { createEnvironmentReconciler } from '../../src/reconcilers/environment/reconcile.js'
import { createDockerClient } from '../../src/runtime/docker.js'
import { createDockerRuntime } from '../../src/runtime/docker-runtime.js'
import { createBuildWorld, TEST_SECRET_KEYS, type BuildWorld } from '../helpers/builds.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects } from '../helpers/docker.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const images = { v1: `gilgal-test/rollout-v1:${runId}`, v2: `gilgal-test/rollout-v2:${runId}` }
const runtime = createDockerRuntime(createDockerClient(process.env.DOCKER_HOST))
const context = { reconcileId: 'test', log: createLogger('silent') }
let world: BuildWorld
let environmentId: string

const ROLLOUT = {
  strategy: 'StartFirst',
  progressDeadlineSeconds: 20,
  autoRollback: true,
  drainSeconds: 1,
  monitorSeconds: 2,
  revisionHistoryLimit: 10,
}
const HEALTH = {
  http: { path: '/' },
  intervalSeconds: 1,
  timeoutSeconds: 1,
  healthyThreshold: 1,
  failureThreshold: 3,
  startPeriodSeconds: 0,
}

before(async () => {
  await buildBusyboxImage(images.v1, 'v1\n')
  await buildBusyboxImage(images.v2, 'v2\n')
  world = await createBuildWorld('rollout')
  const { rows } = await world.db.pool.query(
    `update environments set spec = $2 where project_id = $1 returning id`,
    [world.projectId, { replicas: 1, paused: false, rollout: ROLLOUT }],
  )
  environmentId = rows[0].id
})

after(async () => {
  for (const container of await runtime.listManaged({ environmentId }))
    await runtime.removeContainer(container.id)
  await runtime.removeNetwork(`gilgal-${world.projectName}`)
  await world.close()
  await removeTestObjects()
})

/** Runs the environment reconciler the way the work queue would: again after each requeueAfter. */
function driveEnvironment(): { stop(): Promise<void> } {
  const reconciler = createEnvironmentReconciler({
    pool: world.db.pool,
    runtime,
    secretKeys: TEST_SECRET_KEYS,
  })
  let running = true
  const loop = (async () => {
    while (running) {
      const { requeueAfterMs } = await reconciler.reconcile(
        `Environment/${environmentId}`,
        new AbortController().signal,
        context,
      )
      await delay(Math.min(requeueAfterMs ?? 200, 200))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
    },
  }
}

/** A client asking the app every 20 ms at the URL the environment's status names at that moment. */
function pollApp(): { stop(): Promise<{ requests: number; failures: number; answers: Set<string> }> } {
  const counts = { requests: 0, failures: 0, answers: new Set<string>() }
  let polling = true
  const loop = (async () => {
    while (polling) {
      const current = ((await environmentStatus()).urls as string[])[0]
      try {
        const response = await fetch(current!)
        counts.answers.add(await response.text())
        if (!response.ok) counts.failures++
      } catch {
        counts.failures++
      }
      counts.requests++
      await delay(20)
    }
  })()
  return {
    async stop() {
      polling = false
      await loop
      return counts
    },
  }
}

async function deploy(image: string, command: string[] | null = null): Promise<string> {
  const id = await world.revision({ image })
  await world.db.pool.query(`update deployments set spec = spec || $2 where id = $1`, [
    id,
    { port: 8080, healthCheck: HEALTH, command, resources: {} },
  ])
  await world.reconcile(id)
  return id
}

async function environmentStatus(): Promise<Record<string, unknown>> {
  return (await world.db.pool.query('select status from environments where id = $1', [environmentId])).rows[0]
    .status
}

test('a first deploy becomes Active and answers; a second rolls out start-first with no failed request', async () => {
  const driver = driveEnvironment()
  try {
    const first = await deploy(images.v1)
    await waitFor(
      'the environment to be Available',
      async () => ((await environmentStatus()).phase === 'Available' ? true : undefined),
      { timeoutMs: 20_000 },
    )
    assert.equal((await world.statusOf(first)).phase, 'Active')
    const url = ((await environmentStatus()).urls as string[])[0]!
    assert.equal(await (await fetch(url)).text(), 'v1\n')

    const client = pollApp()
    const second = await deploy(images.v2)
    await waitFor(
      'the second revision to be Active',
      async () => ((await world.statusOf(second)).phase === 'Active' ? true : undefined),
      { timeoutMs: 30_000 },
    )
    const { requests, failures, answers } = await client.stop()
    assert.equal(failures, 0, `${failures} of ${requests} requests failed`)
    assert.ok(requests > 20, `the client kept asking (${requests})`)
    assert.deepEqual([...answers].sort(), ['v1\n', 'v2\n'])
    assert.equal((await world.statusOf(first)).phase, 'Superseded')
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`dev.gilgal.environment=${environmentId}`] },
    })
    assert.ok(
      containers.every((c) => c.Labels['dev.gilgal.deployment'] === second || c.State !== 'running'),
      'only the new revision runs',
    )
  } finally {
    await driver.stop()
  }
})

test('a revision that never turns healthy fails by its deadline; the active one never stops serving', async () => {
  await world.db.pool.query(
    `update environments set spec = jsonb_set(spec, '{rollout,progressDeadlineSeconds}', '4') where id = $1`,
    [environmentId],
  )
  const driver = driveEnvironment()
  try {
    await waitFor(
      'the environment to be Available',
      async () => ((await environmentStatus()).phase === 'Available' ? true : undefined),
      { timeoutMs: 20_000 },
    )
    const client = pollApp()
    const silent = await deploy(images.v1, ['sleep', '600'])
    const failed = await waitFor(
      'the silent revision to fail',
      async () => {
        const status = await world.statusOf(silent)
        return status.phase === 'Failed' ? status : undefined
      },
      { timeoutMs: 30_000 },
    )
    const { requests, failures, answers } = await client.stop()
    assert.equal(failed.reason, 'HealthCheckFailed')
    assert.match(String(failed.message), /last probe: GET \/ failed: ECONN(REFUSED|RESET)/)
    assert.equal(failed.rolledBack, true)
    assert.equal(failures, 0, `${failures} of ${requests} requests failed`)
    assert.deepEqual([...answers], ['v2\n'], 'the active revision served throughout')
    const status = await environmentStatus()
    assert.deepEqual([status.phase, status.reason], ['Degraded', 'RolledBack'])
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`dev.gilgal.deployment=${silent}`] },
    })
    assert.deepEqual(left, [], "the failed revision's containers are gone")
  } finally {
    await driver.stop()
  }
})
