import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects } from '../helpers/docker.js'
import { createRolloutWorld, type RolloutWorld } from '../helpers/rollouts.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const images = { v1: `gilgal-test/rollout-v1:${runId}`, v2: `gilgal-test/rollout-v2:${runId}` }
let world: RolloutWorld

before(async () => {
  await buildBusyboxImage(images.v1, 'v1\n')
  await buildBusyboxImage(images.v2, 'v2\n')
  world = await createRolloutWorld('rollout')
})

after(async () => {
  await world.close()
  await removeTestObjects()
})

test('a first deploy becomes Active and answers; a second rolls out start-first with no failed request', async () => {
  const driver = world.drive()
  try {
    const first = await world.deploy(images.v1)
    await waitFor(
      'the environment to be Available',
      async () => ((await world.environmentStatus()).phase === 'Available' ? true : undefined),
      { timeoutMs: 20_000 },
    )
    assert.equal((await world.statusOf(first)).phase, 'Active')
    const url = ((await world.environmentStatus()).urls as string[])[0]!
    assert.equal(await (await fetch(url)).text(), 'v1\n')

    const client = world.pollApp()
    const second = await world.deploy(images.v2)
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
    const completed = await waitFor('the event', async () => {
      const { rows } = await world.db.pool.query(`select reason, message from events where object_id = $1`, [
        second,
      ])
      return rows.length > 0 ? rows : undefined
    })
    assert.deepEqual(completed, [{ reason: 'RolloutComplete', message: 'revision 2 is Active' }])
    const durations = (await world.metrics.rolloutDuration.get()).values
    assert.equal(
      durations.find((v) => v.metricName?.endsWith('_count') && v.labels.result === 'success')?.value,
      2,
    )
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`dev.gilgal.environment=${world.environmentId}`] },
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
    [world.environmentId],
  )
  const driver = world.drive()
  try {
    await waitFor(
      'the environment to be Available',
      async () => ((await world.environmentStatus()).phase === 'Available' ? true : undefined),
      { timeoutMs: 20_000 },
    )
    const client = world.pollApp()
    const silent = await world.deploy(images.v1, { command: ['sleep', '600'] })
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
    assert.match(String(failed.message), /last probe: GET \/ failed: connection (refused|reset|closed)/)
    assert.equal(failed.rolledBack, true)
    const events = await waitFor('the event', async () => {
      const { rows } = await world.db.pool.query(
        `select type, reason, message from events where object_id = $1`,
        [silent],
      )
      return rows.length > 0 ? rows : undefined
    })
    assert.deepEqual(events, [
      {
        type: 'Warning',
        reason: 'HealthCheckFailed',
        message: 'revision 3 failed (HealthCheckFailed); revision 2 serves',
      },
    ])
    const rollbacks = (await world.metrics.rollbacks.get()).values
    assert.deepEqual(
      rollbacks.map((v) => [v.labels.reason, v.value]),
      [['HealthCheckFailed', 1]],
    )
    assert.equal(failures, 0, `${failures} of ${requests} requests failed`)
    assert.deepEqual([...answers], ['v2\n'], 'the active revision served throughout')
    // The environment's verdict is its reconciler's next write after the revision's: wait for it.
    const status = await waitFor('the environment to leave Progressing', async () => {
      const current = await world.environmentStatus()
      return current.phase === 'Progressing' ? undefined : current
    })
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

test('cancelling a deploying revision removes its containers; the active one serves on', async () => {
  const driver = world.drive()
  try {
    await waitFor(
      'the environment to serve',
      async () => (((await world.environmentStatus()).urls as string[]).length === 1 ? true : undefined),
      { timeoutMs: 20_000 },
    )
    const servingBefore = ((await world.environmentStatus()).activeDeployment as { id: string }).id
    const client = world.pollApp()
    const never = await world.deploy(images.v1, {
      command: ['sh', '-c', "trap 'exit 0' TERM; sleep 600 & wait"],
    })
    await waitFor(
      'its container to run',
      async () => {
        const containers = await docker.listContainers({
          filters: { label: [`dev.gilgal.deployment=${never}`] },
        })
        return (await world.statusOf(never)).phase === 'Deploying' && containers.length === 1
          ? true
          : undefined
      },
      { timeoutMs: 20_000 },
    )
    await world.db.pool.query('update deployments set cancel_requested_at = now() where id = $1', [never])
    const cancelled = await waitFor('the cancel', async () => {
      const status = await world.statusOf(never)
      return status.phase === 'Cancelled' ? status : undefined
    })
    const { failures, requests } = await client.stop()
    assert.equal(cancelled.message, 'cancelled while deploying')
    assert.equal(failures, 0, `${failures} of ${requests} requests failed`)
    const label = [`dev.gilgal.deployment=${never}`]
    await waitFor('its containers to go', async () =>
      (await docker.listContainers({ all: true, filters: { label } })).length === 0 ? true : undefined,
    )
    assert.equal(((await world.environmentStatus()).activeDeployment as { id: string }).id, servingBefore)
  } finally {
    await driver.stop()
  }
})

test('stop-first stops the old revision before the new one starts, then serves the new one', async () => {
  await world.db.pool.query(
    `update environments set spec = jsonb_set(spec, '{rollout,strategy}', '"StopFirst"') where id = $1`,
    [world.environmentId],
  )
  const driver = world.drive()
  try {
    const old = ((await world.environmentStatus()).activeDeployment as { id: string }).id
    const next = await world.deploy(images.v1)
    const oldRunningWhenNewAppeared = await waitFor(
      'the new container',
      async () => {
        const created = await docker.listContainers({
          all: true,
          filters: { label: [`dev.gilgal.deployment=${next}`] },
        })
        if (created.length === 0) return undefined
        const running = await docker.listContainers({ filters: { label: [`dev.gilgal.deployment=${old}`] } })
        return { count: running.length }
      },
      { timeoutMs: 20_000 },
    )
    assert.equal(oldRunningWhenNewAppeared.count, 0, 'the old containers had stopped')
    await waitFor(
      'the new revision Active',
      async () => ((await world.statusOf(next)).phase === 'Active' ? true : undefined),
      { timeoutMs: 20_000 },
    )
    const status = await waitFor('the environment to serve it', async () => {
      const current = await world.environmentStatus()
      return current.phase === 'Available' && (current.activeDeployment as { id: string }).id === next
        ? current
        : undefined
    })
    assert.equal(await (await fetch((status.urls as string[])[0]!)).text(), 'v1\n')
  } finally {
    await driver.stop()
  }
})
