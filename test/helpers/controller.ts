import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import PQueue from 'p-queue'
import { parseConfig, type Config } from '../../src/config/index.js'
import { ControllerManager } from '../../src/controller/manager.js'
import { createMetrics } from '../../src/metrics/registry.js'
import { createReconcilers } from '../../src/reconcilers/index.js'
import { createDockerClient } from '../../src/runtime/docker.js'
import { createRuntime } from '../../src/runtime/create.js'
import type { Runtime } from '../../src/runtime/runtime.js'
import { testSecrets } from './app.js'
import { LOCAL_BASE } from './base-images.js'
import { testEnv, testLog, type TestDatabase } from './db.js'
import { removeInstanceObjects } from './docker.js'

/** A whole controller (lease, LISTEN, the real reconcilers) on a test database and the real engine. */
export interface TestController {
  manager: ControllerManager
  config: Config
  runtime: Runtime
  /** Stops it and removes every Docker object of its installation. */
  stop(): Promise<void>
}

/**
 * Its Docker objects carry an installation label of their own (`GILGAL_INSTANCE`), so it sees, and
 * collects, nothing of other tests; local sources and local images are allowed, as on a laptop.
 */
export async function startTestController(
  db: TestDatabase,
  name: string,
  env: Record<string, string> = {},
): Promise<TestController> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `gilgal-${name}-`))
  const instance = `t-${testEnv().runId}-${name}`
  const config = parseConfig({
    GILGAL_DATA_DIR: dataDir,
    GILGAL_INSTANCE: instance,
    GILGAL_ALLOW_LOCAL_SOURCES: 'true',
    GILGAL_BASE_IMAGE_NODE: LOCAL_BASE.node,
    GILGAL_BASE_IMAGE_STATIC: LOCAL_BASE.static,
    ...env,
  })
  // The runtime GILGAL_RUNTIME names, as `gilgal server` makes it (a Swarm is checked first).
  const runtime = await createRuntime(config, createDockerClient(process.env.DOCKER_HOST))
  const builds = new PQueue({ concurrency: 1 })
  const metrics = createMetrics()
  const manager = new ControllerManager({
    pool: db.pool,
    databaseUrl: db.url,
    log: testLog,
    metrics,
    resyncSeconds: 3600,
    runtime,
    // No test of this helper waits for a takeover; a short lease was lost on a loaded CI machine
    // (a renewal 2.5 s late) and the rollout under test stalled while leadership came back.
    lease: { ttlMs: 15_000, renewMs: 3000 },
    onFatal: (error) => {
      throw error
    },
    buildReconcilers: (fence) =>
      createReconcilers(
        { pool: db.pool, runtime, config, secrets: testSecrets, builds, log: testLog, metrics },
        fence,
      ),
  })
  await manager.start()
  return {
    manager,
    config,
    runtime,
    async stop() {
      await manager.stop(5000)
      await removeInstanceObjects(instance)
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
