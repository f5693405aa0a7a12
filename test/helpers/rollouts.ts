import { setTimeout as delay } from 'node:timers/promises'
import { createEnvironmentReconciler } from '../../src/reconcilers/environment/reconcile.js'
import type { Routing } from '../../src/reconcilers/environment/routing.js'
import type { FencedRuntime } from '../../src/runtime/fence.js'
import { createMetrics, type Metrics } from '../../src/metrics/registry.js'
import { reconcileContext } from '../doubles/reconcile-context.js'
import { createBuildWorld, TEST_SECRET_KEYS, type BuildWorld } from './builds.js'
import { waitFor } from './wait.js'

export const FAST_ROLLOUT = {
  strategy: 'StartFirst',
  progressDeadlineSeconds: 20,
  autoRollback: true,
  drainSeconds: 1,
  monitorSeconds: 2,
  revisionHistoryLimit: 10,
}
export const FAST_HEALTH = {
  http: { path: '/' },
  intervalSeconds: 1,
  timeoutSeconds: 1,
  healthyThreshold: 1,
  failureThreshold: 3,
  startPeriodSeconds: 0,
}

export interface RevisionOptions {
  command?: string[] | null
  env?: Record<string, string>
  secretEnv?: Record<string, string>
  /** The revision's health check (default FAST_HEALTH), such as an `exec` one Docker runs itself. */
  healthCheck?: Record<string, unknown>
  /** Where its replicas may run (Swarm placement constraints). */
  placement?: { constraints: string[] }
  /** A controller of its own (a `gilgal server`) builds and rolls it out: only insert the row. */
  external?: boolean
}

/**
 * A build world whose environment has fast rollout settings, a runtime scoped to the world's
 * instance, and what the rollout tests do: deploy a prebuilt image, drive the environment
 * reconciler as the work queue would, read status, poll the app.
 */
export interface RolloutWorld extends BuildWorld {
  environmentId: string
  /** Fenced by a term that never ends. */
  runtime: FencedRuntime
  /** What the driven reconciler counted. */
  metrics: Metrics
  deploy(image: string, options?: RevisionOptions): Promise<string>
  /** Drives the environment reconciler until stopped; `errors` are the reconciles that threw. */
  drive(options?: { routing?: Routing }): { errors: Error[]; stop(): Promise<void> }
  environmentStatus(): Promise<Record<string, unknown>>
  pollApp(): { stop(): Promise<{ requests: number; failures: number; answers: Set<string> }> }
  /** Requests the environment's deletion and drives the reconciler until its row is gone. */
  deleteEnvironment(options?: { routing?: Routing }): Promise<void>
  /** Removes the environment's containers and the project's network, then closes the build world. */
  close(): Promise<void>
}

export async function createRolloutWorld(
  prefix: string,
  spec: Record<string, unknown> = {},
  /** The engine's runtime unless given (the Swarm tests give a Swarm one). */
  runtimeOverride?: FencedRuntime,
): Promise<RolloutWorld> {
  const world = await createBuildWorld(prefix, runtimeOverride)
  const { runtime } = world.reconcilerDeps()
  const { rows } = await world.db.pool.query(
    `update environments set spec = $2 where project_id = $1 returning id`,
    [world.projectId, { replicas: 1, paused: false, rollout: FAST_ROLLOUT, ...spec }],
  )
  const environmentId: string = rows[0].id
  const environmentStatus = async () =>
    (await world.db.pool.query('select status from environments where id = $1', [environmentId])).rows[0]
      .status
  const closeBuildWorld = world.close
  const metrics = createMetrics()
  return Object.assign(world, {
    environmentId,
    runtime,
    metrics,
    environmentStatus,
    async deploy(image: string, options: RevisionOptions = {}) {
      const snapshot = {
        port: 8080,
        healthCheck: options.healthCheck ?? FAST_HEALTH,
        command: options.command ?? null,
        resources: {},
        secretEnv: options.secretEnv ?? {},
        ...(options.placement ? { placement: options.placement } : {}),
      }
      const id = await world.revision({ image, env: options.env, spec: snapshot })
      if (!options.external) await world.reconcile(id)
      return id
    },
    drive(options: { routing?: Routing } = {}) {
      const reconciler = createEnvironmentReconciler({
        pool: world.db.pool,
        runtime,
        secretKeys: TEST_SECRET_KEYS,
        bounds: { memoryBytes: 4 * 1024 ** 3, cpus: 2 },
        metrics,
        ...options,
      })
      let running = true
      const errors: Error[] = []
      const loop = (async () => {
        while (running) {
          const key = { kind: 'Environment' as const, id: environmentId }
          // As the work queue does: an error is retried after a pause, and the last one is kept.
          const result = await reconciler
            .reconcile(key, new AbortController().signal, reconcileContext())
            .catch((error: Error) => {
              errors.push(error)
              return { requeueAfterMs: 200 }
            })
          await delay(Math.min(result.requeueAfterMs ?? 200, 200))
        }
      })()
      return {
        errors,
        async stop() {
          running = false
          await loop
        },
      }
    },
    pollApp: () => pollApp(environmentStatus),
    async deleteEnvironment(options: { routing?: Routing } = {}) {
      const driver = this.drive(options)
      try {
        await world.db.pool.query('update environments set deletion_requested_at = now() where id = $1', [
          environmentId,
        ])
        await waitFor(
          'the environment row to go',
          async () => {
            const { rowCount } = await world.db.pool.query('select 1 from environments where id = $1', [
              environmentId,
            ])
            return rowCount === 0 ? true : undefined
          },
          { timeoutMs: 30_000 },
        )
      } finally {
        await driver.stop()
      }
    },
    async close() {
      for (const container of await runtime.listManaged({ environmentId }))
        await runtime.removeContainer(container.id, world.projectId)
      // Whatever the name: a `gilgal server` with GILGAL_INSTANCE names it gilgal-<instance>-<project>.
      for (const network of await runtime.listManagedNetworks())
        if (network.labels['dev.gilgal.project'] === world.projectId)
          await runtime.removeNetwork(network.name, world.projectId)
      await closeBuildWorld()
    },
  })
}

/** A client asking the app every 20 ms at the URL the environment's status names at that moment. */
function pollApp(status: () => Promise<Record<string, unknown>>) {
  const counts = { requests: 0, failures: 0, answers: new Set<string>() }
  let polling = true
  const loop = (async () => {
    while (polling) {
      const current = ((await status()).urls as string[])[0]
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
