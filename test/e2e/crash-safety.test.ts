import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { LABELS } from '../../src/runtime/labels.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects } from '../helpers/docker.js'
import { freePort } from '../helpers/net.js'
import { exitWithin, runGilgal, type GilgalProcess } from '../helpers/process.js'
import { createRolloutWorld, FAST_ROLLOUT, type RolloutWorld } from '../helpers/rollouts.js'
import { waitFor } from '../helpers/wait.js'

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

/** A real `gilgal server` on the world's database and instance, with a short lease so a successor takes over fast. */
async function startController(): Promise<GilgalProcess> {
  const port = await freePort()
  const server = runGilgal(['server'], {
    DATABASE_URL: world.db.url,
    PORT: String(port),
    GILGAL_DATA_DIR: dataDir,
    GILGAL_INSTANCE: world.owner.labels[LABELS.instance]!,
    GILGAL_LEASE_SECONDS: '3',
    GILGAL_LEASE_RENEW_SECONDS: '1',
    LOG_LEVEL: 'warn',
  })
  await waitFor(
    'the controller to answer',
    async () => {
      if (server.child.exitCode !== null) throw new Error(`gilgal exited early:\n${server.output()}`)
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined)
      return response?.status === 200 ? true : undefined
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  )
  return server
}

async function containersOf(
  filter: string,
): Promise<Array<{ id: string; deployment: string; running: boolean; name: string }>> {
  const listed = await docker.listContainers({ all: true, filters: { label: [filter] } })
  return listed.map((c) => ({
    id: c.Id,
    deployment: c.Labels[LABELS.deployment]!,
    running: c.State === 'running',
    name: c.Names[0]!,
  }))
}

/** Exactly one revision serves: `id`, Active, with `replicas` running containers and nothing else running. */
async function assertConverged(id: string, body: string): Promise<void> {
  const status = await waitFor(
    'the environment to converge',
    async () => {
      const current = await world.environmentStatus()
      const active = current.activeDeployment as { id: string } | null
      return current.phase === 'Available' && active?.id === id && (current.urls as string[]).length === 2
        ? current
        : undefined
    },
    { timeoutMs: 60_000 },
  )
  const containers = await containersOf(`${LABELS.environment}=${world.environmentId}`)
  const runningOnes = containers.filter((c) => c.running)
  assert.deepEqual(
    runningOnes.map((c) => c.deployment),
    [id, id],
    JSON.stringify(containers),
  )
  assert.equal(new Set(containers.map((c) => c.name)).size, containers.length, 'no duplicate replicas')
  const { rows } = await world.db.pool.query(
    `select id from deployments where environment_id = $1 and status->>'phase' = 'Active'`,
    [world.environmentId],
  )
  assert.deepEqual(
    rows.map((r) => r.id),
    [id],
    'one Active revision',
  )
  for (const url of status.urls as string[]) assert.equal(await (await fetch(url)).text(), body)
}

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
  let controller = await startController()
  try {
    const first = await world.deploy(images[0]!, { external: true })
    await assertConverged(first, 'a\n')
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
      controller = await startController()
      await assertConverged(id, index % 2 === 0 ? 'b\n' : 'a\n')
    }
  } finally {
    controller.child.kill('SIGTERM')
    await exitWithin(controller, 30_000)
  }
})
