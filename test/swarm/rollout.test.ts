/**
 * The rollout acceptance set on a real one-node Docker Swarm (GILGAL_RUNTIME=swarm): every replica a
 * service, every request through a real Caddy at the tasks' addresses.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Routing } from '../../src/reconcilers/environment/routing.js'
import { RouteSync } from '../../src/reconcilers/routes/sync.js'
import { createProjectReconciler } from '../../src/reconcilers/project.js'
import { LABELS } from '../../src/runtime/labels.js'
import { reconcileContext } from '../doubles/reconcile-context.js'
import { alwaysCurrent } from '../doubles/fence.js'
import { buildTestApp, client, registerUser } from '../helpers/app.js'
import { startCaddy, type TestCaddy } from '../helpers/caddy.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects } from '../helpers/docker.js'
import { createRolloutWorld, FAST_ROLLOUT, type RolloutWorld } from '../helpers/rollouts.js'
import {
  assertSwarmManager,
  labelledObjects,
  removeSwarmObjects,
  swarmRuntimeFor,
  worldInstance,
} from '../helpers/swarm.js'
import { get, sendTraffic, type TrafficReport } from '../helpers/traffic.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const images = { v1: `gilgal-test/swarm-v1:${runId}`, v2: `gilgal-test/swarm-v2:${runId}` }
const NEVER_HEALTHY = ['sh', '-c', "trap 'exit 0' TERM; sleep 600 & wait"]
let world: RolloutWorld
let caddy: TestCaddy
let routing: Routing
let host: string

before(async () => {
  await assertSwarmManager()
  await buildBusyboxImage(images.v1, 'v1\n')
  await buildBusyboxImage(images.v2, 'v2\n')
  caddy = await startCaddy()
  // No drain: old replicas stop in the very pass that switches, so only the order keeps requests whole.
  const rollout = { ...FAST_ROLLOUT, drainSeconds: 0 }
  world = await createRolloutWorld('swarm', { rollout }, swarmRuntimeFor('swarm'))
  const routes = new RouteSync({
    pool: world.db.pool,
    caddy: caddy.admin,
    fence: alwaysCurrent,
    options: caddy.routing,
  })
  routing = {
    pool: world.db.pool,
    routes,
    reserved: { baseDomain: 'localhost', apiHost: undefined },
    ports: { http: caddy.httpPort, https: caddy.httpsPort, tls: 'off' },
  }
  host = `production--${world.projectName}.localhost`
})

after(async () => {
  await removeSwarmObjects(worldInstance('swarm'))
  await world?.close()
  await caddy?.stop()
  await removeTestObjects()
})

const services = async (deploymentId: string) =>
  (await docker.listServices({ filters: { label: [`${LABELS.deployment}=${deploymentId}`] } })) as Array<{
    ID: string
    Spec: { Name: string; EndpointSpec?: { Mode?: string } }
  }>

async function setSpec(path: string, value: string): Promise<void> {
  await world.db.pool.query(`update environments set spec = jsonb_set(spec, $2, $3) where id = $1`, [
    world.environmentId,
    path,
    value,
  ])
}

async function active(id: string): Promise<void> {
  await waitFor(
    'the revision to be Active',
    async () => ((await world.statusOf(id)).phase === 'Active' ? true : undefined),
    {
      timeoutMs: 30_000,
    },
  )
}

/** The environment Available with `replicas` ready, and Caddy answering `body` for it. */
async function serving(replicas: number, body: string): Promise<void> {
  await waitFor(
    `${replicas} ready replicas answering ${JSON.stringify(body)} through Caddy`,
    async () => {
      const status = await world.environmentStatus()
      const ready = (status.replicas as { ready: number } | undefined)?.ready
      if (status.phase !== 'Available' || ready !== replicas) return undefined
      const answer = await get(caddy.httpPort, host)
      return answer.status === 200 && answer.body === body ? true : undefined
    },
    { timeoutMs: 30_000 },
  )
}

/** The revision Failed and its services gone (the planner removes them); resolves with its status. */
async function failedAndGone(id: string): Promise<Record<string, unknown>> {
  const status = await waitFor(
    'the revision to fail',
    async () => {
      const current = await world.statusOf(id)
      return current.phase === 'Failed' ? current : undefined
    },
    { timeoutMs: 30_000 },
  )
  await waitFor('its services to go', async () => ((await services(id)).length === 0 ? true : undefined), {
    timeoutMs: 30_000,
  })
  return status
}

function assertNoneFailed(report: TrafficReport): void {
  const { requests, failures, failureSamples, perSecond } = report
  assert.equal(failures, 0, `${failures} of ${requests} failed: ${failureSamples.join('; ')}`)
  console.log(`# traffic: ${requests} requests, ${perSecond.toFixed(0)}/s`)
  assert.ok(perSecond >= 200, `the client sent ${perSecond.toFixed(0)} requests/s`)
}

test('a first deploy is Available through Caddy; each replica is a dnsrr service whose node the status names', async () => {
  await setSpec('{replicas}', '2')
  const driver = world.drive({ routing })
  try {
    const appliedAt = performance.now()
    const id = await world.deploy(images.v1)
    await serving(2, 'v1\n')
    console.log(
      `# apply -> first 200 through Caddy on Swarm: ${Math.round(performance.now() - appliedAt)} ms`,
    )
    const made = await services(id)
    assert.equal(made.length, 2)
    assert.ok(made.every((s) => s.Spec.EndpointSpec?.Mode === 'dnsrr'))
    const containers = (await world.statusOf(id)).containers as Array<{ node?: string; address?: string }>
    const node = (await docker.info()).Name as string
    assert.deepEqual(
      containers.map((c) => c.node),
      [node, node],
    )
    assert.ok(containers.every((c) => c.address?.endsWith(':8080')))
  } finally {
    await driver.stop()
  }
})

test('a start-first rollout, then a revision whose health check fails is rolled back: no failed request through Caddy', async () => {
  const driver = world.drive({ routing })
  try {
    await serving(2, 'v1\n')
    const traffic = sendTraffic(caddy.httpPort, host)
    await active(await world.deploy(images.v2))
    const failing = await world.deploy(images.v1, { command: NEVER_HEALTHY })
    await setSpec('{rollout,progressDeadlineSeconds}', '4')
    await failedAndGone(failing)
    const report = await traffic.stop()
    assertNoneFailed(report)
    assert.deepEqual([...report.answers.keys()].sort(), ['v1\n', 'v2\n'])
    assert.equal((await world.statusOf(failing)).rolledBack, true)
    assert.deepEqual(await get(caddy.httpPort, host), { status: 200, body: 'v2\n' })
  } finally {
    await driver.stop()
    await setSpec('{rollout,progressDeadlineSeconds}', '20')
  }
})

test('a revision whose placement no node meets fails by its deadline, saying why; the old one serves on', async () => {
  const driver = world.drive({ routing })
  try {
    const nowhere = await world.deploy(images.v1, {
      placement: { constraints: ['node.labels.gilgal-test==nowhere'] },
    })
    await setSpec('{rollout,progressDeadlineSeconds}', '4')
    const failed = await failedAndGone(nowhere)
    assert.equal(failed.reason, 'ProgressDeadlineExceeded')
    assert.match(String(failed.message), /not running: pending: no suitable node/)
    // Degraded (RolledBack) until the next deploy, as on one engine; the old revision answers.
    const status = await world.environmentStatus()
    assert.deepEqual([status.phase, status.reason], ['Degraded', 'RolledBack'])
    assert.deepEqual(await get(caddy.httpPort, host), { status: 200, body: 'v2\n' })
  } finally {
    await driver.stop()
    await setSpec('{rollout,progressDeadlineSeconds}', '20')
  }
})

test('a manual rollback through the API brings the older revision back, through Caddy', async () => {
  const driver = world.drive({ routing })
  try {
    const { rows } = await world.db.pool.query(
      `select id from deployments where environment_id = $1 and spec->'source'->>'image' = $2 order by revision limit 1`,
      [world.environmentId, images.v1],
    )
    const app = await buildTestApp(world.db.pool)
    const user = await registerUser(app)
    await world.db.pool.query('update projects set owner_id = $2 where id = $1', [world.projectId, user.id])
    const answer = await client(app, user).post(`/api/deployments/${rows[0].id}/rollback`)
    await app.close()
    assert.equal(answer.statusCode, 201, answer.body)
    const rollback: string = answer.json().metadata.id
    await world.reconcile(rollback)
    await active(rollback)
    await serving(2, 'v1\n')
  } finally {
    await driver.stop()
  }
})

test('a killed task is replaced by Swarm and served again through Caddy; scaling 2 → 3 → 1 is in place', async () => {
  const driver = world.drive({ routing })
  try {
    const id = (await world.environmentStatus()).activeDeployment as { id: string }
    // Past its bake window (monitorSeconds: 2), or the kill would roll the revision back instead.
    const readyAt = Date.parse((await world.statusOf(id.id)).readyAt as string)
    await waitFor('the bake window to end', async () => (Date.now() > readyAt + 2500 ? true : undefined))
    const label = `${LABELS.deployment}=${id.id}`
    const [victim] = await docker.listContainers({ filters: { label: [label] } })
    const killedAt = performance.now()
    await docker.getContainer(victim!.Id).kill()
    await waitFor(
      'a new task in its place',
      async () => {
        const running = await docker.listContainers({ filters: { label: [label] } })
        return running.length === 2 && !running.some((c) => c.Id === victim!.Id) ? true : undefined
      },
      { timeoutMs: 30_000 },
    )
    await serving(2, 'v1\n')
    console.log(`# killed task serving again after ${Math.round(performance.now() - killedAt)} ms`)
    const restarts = ((await world.statusOf(id.id)).containers as Array<{ restarts: number }>).map(
      (c) => c.restarts,
    )
    assert.deepEqual(restarts.sort(), [0, 1])

    await setSpec('{replicas}', '3')
    await serving(3, 'v1\n')
    assert.equal((await services(id.id)).length, 3, 'scaled in place: same revision')
    await setSpec('{replicas}', '1')
    await waitFor('one service', async () => ((await services(id.id)).length === 1 ? true : undefined), {
      timeoutMs: 30_000,
    })
    await serving(1, 'v1\n')
  } finally {
    await driver.stop()
  }
})

test('deleting the environment, then the project, leaves no service, container or network labelled', async () => {
  await world.deleteEnvironment({ routing })
  await world.db.pool.query('update projects set deletion_requested_at = now() where id = $1', [
    world.projectId,
  ])
  const projects = createProjectReconciler({ pool: world.db.pool, runtime: world.runtime })
  const key = { kind: 'Project' as const, id: world.projectId }
  // Swarm removes a service's task containers after the service, and its network once they are gone.
  const left = await waitFor(
    'nothing labelled left',
    async () => {
      await projects.reconcile(key, new AbortController().signal, reconcileContext()).catch(() => undefined)
      const objects = await labelledObjects(worldInstance('swarm'))
      return objects.length === 0 ? objects : undefined
    },
    { timeoutMs: 40_000, intervalMs: 500 },
  )
  assert.deepEqual(left, [])
})
