/**
 * Fault: the Docker daemon restarted in steady state (it stops every container, then starts the
 * `unless-stopped` ones again). The controller must see its event stream come back, relist, and have
 * the app serving again at the addresses Docker gave it, without a restart storm: no container beyond
 * the replicas, a bounded number of reconciles, and events that work afterwards.
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
import { restartDockerDaemon } from '../helpers/dockerd.js'
import { exitWithin } from '../helpers/process.js'
import { createRolloutWorld, FAST_ROLLOUT, type RolloutWorld } from '../helpers/rollouts.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const image = `gilgal-test/dockerd-restart:${runId}`
const MAX_RECONCILES = 60 // the relist, the restarts' events and their status writes: tens, not a storm
let world: RolloutWorld
let dataDir: string
let controller: ControllerProcess | undefined

before(async () => {
  await buildBusyboxImage(image, 'restarted\n')
  world = await createRolloutWorld('dockerd', { replicas: 2, rollout: FAST_ROLLOUT })
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-dockerd-'))
})

let passed = false

after(async () => {
  if (!passed && controller) console.log(`gilgal said:\n${controller.output()}`)
  controller?.child.kill('SIGTERM')
  if (controller) await exitWithin(controller, 30_000).catch(() => controller!.child.kill('SIGKILL'))
  await world.close()
  await removeTestObjects()
  await rm(dataDir, { recursive: true, force: true })
})

/** The controller's reconciles so far, of every kind and result, from its /metrics. */
async function reconciles(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  return [...text.matchAll(/^gilgal_reconcile_total\{[^}]*\} (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  )
}

test('a restarted Docker daemon: events come back, the app serves again, no restart storm', async () => {
  controller = await startController(world, dataDir)
  const revision = await world.deploy(image, { external: true })
  await assertConverged(world, revision, 'restarted\n')
  const replicas = `${LABELS.environment}=${world.environmentId}`
  const before = await containersOf(replicas)
  const reconcilesBefore = await reconciles(controller.port)

  const { downAt, upAt } = await restartDockerDaemon()
  // Right after the restart the status may name old addresses: converged is when they answer.
  await assertConverged(world, revision, 'restarted\n')
  const convergedMs = performance.now() - upAt

  const after = await containersOf(replicas)
  assert.equal(after.length, 2, `exactly the replicas: ${JSON.stringify(after)}`)
  const replaced = after.filter((c) => !before.some((b) => b.id === c.id)).length
  const reconcileCount = (await reconciles(controller.port)) - reconcilesBefore
  assert.ok(reconcileCount <= MAX_RECONCILES, `${reconcileCount} reconciles after the restart`)

  // The event stream is back: a replica removed now is replaced long before the 30 s resync.
  const [victim] = after
  const removedAt = performance.now()
  await docker.getContainer(victim!.id).remove({ force: true })
  await waitFor(
    'the removed replica to be replaced',
    async () => {
      const running = (await containersOf(replicas)).filter((c) => c.running)
      return running.length === 2 && running.every((c) => c.id !== victim!.id) ? true : undefined
    },
    { timeoutMs: 10_000 },
  )
  const replacedMs = performance.now() - removedAt
  await assertConverged(world, revision, 'restarted\n')
  console.log(
    `docker restart: engine down ${(upAt - downAt).toFixed(0)} ms, serving again ${convergedMs.toFixed(0)} ms ` +
      `after it answered, ${replaced} of 2 containers replaced, ${reconcileCount} reconciles; ` +
      `a replica removed afterwards replaced in ${replacedMs.toFixed(0)} ms`,
  )
  passed = true
})
