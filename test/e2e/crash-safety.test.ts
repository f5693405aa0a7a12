import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { LABELS } from '../../src/runtime/labels.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, removeTestObjects } from '../helpers/docker.js'
import { exitWithin } from '../helpers/process.js'
import { createRolloutWorld, FAST_ROLLOUT, type RolloutWorld } from '../helpers/rollouts.js'
import { waitFor } from '../helpers/wait.js'
import { assertConverged, containersOf, startController } from '../helpers/converge.js'

const { runId } = testEnv()
const images = [`gilgal-test/crash-a:${runId}`, `gilgal-test/crash-b:${runId}`]
// Starts answering only after 3 s, so a kill can land while the controller is still probing.
const SLOW_START = ['sh', '-c', "trap 'exit 0' TERM; sleep 3; /bin/busybox httpd -f -p 8080 -h /www & wait"]
let world: RolloutWorld
let dataDir: string

before(async () => {
  await buildBusyboxImage(images[0]!, 'a\n')
  await buildBusyboxImage(images[1]!, 'b\n')
  world = await createRolloutWorld('crash', { replicas: 2, rollout: { ...FAST_ROLLOUT, drainSeconds: 3 } })
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-crash-'))
})

after(async () => {
  await world.close()
  await removeTestObjects()
  await rm(dataDir, { recursive: true, force: true })
})

const KILL_POINTS: Array<{ step: string; slow?: boolean; when: (id: string) => Promise<boolean> }> = [
  {
    step: 'after creating the new containers',
    when: async (id) => (await containersOf(`${LABELS.deployment}=${id}`)).length > 0,
  },
  {
    step: 'during the health checks',
    slow: true,
    when: async (id) =>
      (await containersOf(`${LABELS.deployment}=${id}`)).filter((c) => c.running).length === 2,
  },
  { step: 'right after the switch', when: async (id) => Boolean((await world.statusOf(id)).switchedAt) },
  {
    step: 'during the drain',
    when: async (id) => {
      const switchedAt = (await world.statusOf(id)).switchedAt
      return typeof switchedAt === 'string' && Date.now() - Date.parse(switchedAt) > 1500
    },
  },
]

test('a controller SIGKILLed at any step of a rollout resumes to the same end state', async () => {
  let controller = await startController(world, dataDir)
  try {
    const first = await world.deploy(images[0]!, { external: true })
    await assertConverged(world, first, 'a\n')
    for (const [index, point] of KILL_POINTS.entries()) {
      const image = images[(index + 1) % 2]!
      const id = await world.deploy(image, { external: true, command: point.slow ? SLOW_START : null })
      await waitFor(
        `the kill point: ${point.step}`,
        async () => ((await point.when(id)) ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 20 },
      )
      controller.child.kill('SIGKILL')
      await exitWithin(controller, 5000)
      controller = await startController(world, dataDir)
      await assertConverged(world, id, index % 2 === 0 ? 'b\n' : 'a\n')
    }
  } finally {
    controller.child.kill('SIGTERM')
    await exitWithin(controller, 30_000)
  }
})
