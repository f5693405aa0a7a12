/**
 * Fault: two controller processes; the leader is frozen (SIGSTOP) past its lease while a replica dies,
 * then resumed. The standby must take over within the lease + 1 s and repair the environment; the
 * resumed one must see it lost the lease and change nothing: exactly one revision serves, with exactly
 * its replicas, and the status matches Docker.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { LABELS } from '../../src/runtime/labels.js'
import {
  assertConverged,
  containersOf,
  startController,
  type ControllerProcess,
} from '../helpers/converge.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects } from '../helpers/docker.js'
import { exitWithin } from '../helpers/process.js'
import { createRolloutWorld, FAST_ROLLOUT, type RolloutWorld } from '../helpers/rollouts.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const image = `gilgal-test/frozen:${runId}`
const LEASE_MS = 3000 // startController's GILGAL_LEASE_SECONDS
let world: RolloutWorld
let dataDir: string
const controllers: ControllerProcess[] = []

before(async () => {
  await buildBusyboxImage(image, 'frozen\n')
  world = await createRolloutWorld('frozen', { replicas: 2, rollout: FAST_ROLLOUT })
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-frozen-'))
})

after(async () => {
  for (const controller of controllers) {
    controller.child.kill('SIGCONT')
    controller.child.kill('SIGTERM')
    await exitWithin(controller, 30_000).catch(() => controller.child.kill('SIGKILL'))
  }
  await world.close()
  await removeTestObjects()
  await rm(dataDir, { recursive: true, force: true })
})

async function isLeader(controller: ControllerProcess): Promise<boolean> {
  const metrics = await fetch(`http://127.0.0.1:${controller.port}/metrics`, {
    signal: AbortSignal.timeout(500),
  })
  return /^gilgal_leader 1$/m.test(await metrics.text())
}

test('a leader frozen past its lease is replaced within the lease + 1 s, and changes nothing once resumed', async () => {
  controllers.push(await startController(world, dataDir), await startController(world, dataDir))
  const revision = await world.deploy(image, { external: true })
  await assertConverged(world, revision, 'frozen\n')
  const leader = await waitFor('one controller to lead', async () => {
    for (const controller of controllers) if (await isLeader(controller).catch(() => false)) return controller
    return undefined
  })
  const standby = controllers.find((controller) => controller !== leader)!

  leader.child.kill('SIGSTOP')
  const frozenAt = performance.now()
  const [victim] = (await containersOf(`${LABELS.deployment}=${revision}`)).filter((c) => c.running)
  await docker.getContainer(victim!.id).remove({ force: true })
  await waitFor(
    'the standby to lead',
    async () => ((await isLeader(standby).catch(() => false)) ? true : undefined),
    {
      timeoutMs: LEASE_MS + 5000,
      intervalMs: 50,
    },
  )
  const takeoverMs = performance.now() - frozenAt
  await waitFor(
    'the removed replica to be replaced by the new leader',
    async () => {
      const running = (await containersOf(`${LABELS.deployment}=${revision}`)).filter((c) => c.running)
      return running.length === 2 && running.every((c) => c.id !== victim!.id) ? true : undefined
    },
    { timeoutMs: 30_000 },
  )
  await assertConverged(world, revision, 'frozen\n')
  const convergedMs = performance.now() - frozenAt

  leader.child.kill('SIGCONT')
  await waitFor('the resumed one to know it no longer leads', async () =>
    (await isLeader(leader)) ? undefined : true,
  )
  await assertConverged(world, revision, 'frozen\n')
  const containers = await containersOf(`${LABELS.environment}=${world.environmentId}`)
  assert.equal(
    containers.length,
    2,
    `exactly the replicas, nothing created by the resumed one: ${JSON.stringify(containers)}`,
  )
  console.log(`frozen leader: takeover ${takeoverMs.toFixed(0)} ms, converged ${convergedMs.toFixed(0)} ms`)
  assert.ok(
    takeoverMs <= LEASE_MS + 1000,
    `took over after ${takeoverMs.toFixed(0)} ms (lease ${LEASE_MS} ms)`,
  )
})
