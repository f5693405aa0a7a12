/**
 * A whole controller (lease, LISTEN, Docker events, the real reconcilers) with GILGAL_RUNTIME=swarm,
 * its runtime made as `gilgal server` makes it.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { LABELS } from '../../src/runtime/labels.js'
import { startTestController, type TestController } from '../helpers/controller.js'
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
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const image = `gilgal-test/swarm-controller:${runId}`
let world: RolloutWorld
let controller: TestController

before(async () => {
  await assertSwarmManager()
  await buildBusyboxImage(image, 'controlled\n')
  world = await createRolloutWorld(
    'swarmctl',
    { replicas: 2, rollout: FAST_ROLLOUT },
    swarmRuntimeFor('swarmctl'),
  )
  controller = await startTestController(world.db, 'swarmctl', { GILGAL_RUNTIME: 'swarm' })
})

after(async () => {
  await controller?.stop()
  await removeSwarmObjects(worldInstance('swarmctl'))
  await world?.close()
  await removeTestObjects()
})

/** Available, both replicas answering at the addresses the status names. */
async function answering(): Promise<string[]> {
  return waitFor(
    'both replicas answering',
    async () => {
      const status = await world.environmentStatus()
      const urls = (status.urls ?? []) as string[]
      if (status.phase !== 'Available' || urls.length !== 2) return undefined
      for (const url of urls) if ((await (await fetch(url)).text()) !== 'controlled\n') return undefined
      return urls
    },
    { timeoutMs: 30_000 },
  )
}

test('a revision inserted as the API would is rolled out onto Swarm services; a service removed by hand is made again', async () => {
  const revision = await world.deploy(image, { external: true })
  const before = await answering()
  assert.ok(
    before.every((url) => url.startsWith('http://172.')),
    `gateway addresses: ${before.join(', ')}`,
  )
  const label = `${LABELS.deployment}=${revision}`
  const [victim] = (await docker.listServices({ filters: { label: [label] } })) as Array<{ ID: string }>
  await docker.getService(victim!.ID).remove()
  // Its task's container goes, and that event (or the next probe pass) brings the replica back.
  await waitFor(
    'the service made again',
    async () => {
      const services = (await docker.listServices({ filters: { label: [label] } })) as Array<{ ID: string }>
      return services.length === 2 && !services.some((s) => s.ID === victim!.ID) ? true : undefined
    },
    { timeoutMs: 30_000 },
  )
  await answering()
  assert.ok((await labelledObjects(worldInstance('swarmctl'))).some((o) => o.startsWith('service ')))
})
