import path from 'node:path'
import type PQueue from 'p-queue'
import type { Config } from '../config/index.js'
import type { Secrets } from '../config/secrets.js'
import { formatKey } from '../controller/keys.js'
import type { Fence } from '../controller/lease.js'
import type { ReconcilerSet } from '../controller/manager.js'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics/registry.js'
import type { DockerClient } from '../runtime/docker.js'
import { createDockerRuntime } from '../runtime/docker-runtime.js'
import { ownership } from '../runtime/labels.js'
import { fencedRuntime } from '../runtime/runtime.js'
import type { Pool } from '../store/pool.js'
import { createDeploymentReconciler } from './deployment/reconcile.js'
import { createEnvironmentReconciler } from './environment/reconcile.js'
import { throttledSweep } from './garbage.js'
import { createProjectReconciler } from './project.js'

export interface ReconcilerDeps {
  pool: Pool
  engine: DockerClient
  config: Config
  secrets: Secrets
  /** Build admission, shared across terms. */
  builds: PQueue
  log: Logger
  metrics: Metrics
  enqueue(key: string): void
}

const SWEEP_INTERVAL_MS = 60_000

/** The reconcilers of one leadership term, every Docker mutation fenced by its epoch. */
export function createReconcilers(deps: ReconcilerDeps, fence: Fence): ReconcilerSet {
  const { pool, engine, config, secrets } = deps
  const owner = ownership(config.instance)
  const namePrefix = config.instance ? `gilgal-${config.instance}` : 'gilgal'
  const runtime = fencedRuntime(createDockerRuntime(engine, owner), fence)
  const sweep = throttledSweep({
    pool,
    runtime,
    intervalMs: SWEEP_INTERVAL_MS,
    onError: (error) => deps.log.warn({ err: error }, 'garbage collection failed; it runs again later'),
  })
  return {
    Project: createProjectReconciler({ pool, runtime, sweep, namePrefix }),
    Environment: createEnvironmentReconciler({
      pool,
      runtime,
      secretKeys: secrets.secretKeys,
      metrics: deps.metrics,
      namePrefix,
    }),
    Deployment: createDeploymentReconciler({
      pool,
      engine,
      workRoot: path.join(config.dataDir, 'builds'),
      allowLocalSources: config.allowLocalSources,
      baseImages: config.baseImages,
      buildMemoryBytes: config.buildMemoryBytes,
      admission: deps.builds,
      fence,
      registry: config.registry,
      secretKeys: secrets.secretKeys,
      ownership: owner,
      metrics: deps.metrics,
      onEnvironmentChange: (id) => deps.enqueue(formatKey({ kind: 'Environment', id })),
    }),
  }
}
