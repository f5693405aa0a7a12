import assert from 'node:assert/strict'
import { LABELS } from '../../src/runtime/labels.js'
import { docker } from './docker.js'
import { freePort } from './net.js'
import { runGilgal, type GilgalProcess } from './process.js'
import type { RolloutWorld } from './rollouts.js'
import { waitFor } from './wait.js'

/** Real controller processes over a rollout world, and the end state they must converge to. */

export interface ControllerProcess extends GilgalProcess {
  readonly port: number
}

/** A real `gilgal server` on the world's database and instance, with a short lease so a successor takes over fast. */
export async function startController(world: RolloutWorld, dataDir: string): Promise<ControllerProcess> {
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
  const ready = await waitFor(
    'the controller to answer',
    async () => {
      if (server.child.exitCode !== null) return 'exited'
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined)
      return response?.status === 200 ? 'ready' : undefined
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  )
  assert.equal(ready, 'ready', `gilgal exited early:\n${server.output()}`)
  return { ...server, port }
}

export async function containersOf(
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

/** Exactly one revision serves: `id`, Active, with two running containers and nothing else running. */
export async function assertConverged(world: RolloutWorld, id: string, body: string): Promise<void> {
  const status = await waitFor(
    'the environment to converge',
    async () => {
      const current = await world.environmentStatus()
      const active = current.activeDeployment as { id: string } | null
      const urls = (current.urls ?? []) as string[]
      if (current.phase !== 'Available' || active?.id !== id || urls.length !== 2) return undefined
      // A status written before a replica was replaced names its old address: converged is when they answer.
      for (const url of urls) if ((await answer(url)) !== body) return undefined
      return current
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
  for (const url of status.urls as string[]) assert.equal(await answer(url), body)
}

function answer(url: string): Promise<string> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then((response) => response.text())
}
