import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import PQueue from 'p-queue'
import { testSecrets } from './app.js'
import {
  createDeploymentReconciler,
  type DeploymentReconcilerDeps,
} from '../../src/reconcilers/deployment/reconcile.js'
import { createDockerClient } from '../../src/runtime/docker.js'
import { createDockerRuntime } from '../../src/runtime/docker-runtime.js'
import { fencedRuntime, type FencedRuntime } from '../../src/runtime/fence.js'
import { ownership, type Ownership } from '../../src/runtime/labels.js'
import { alwaysCurrent } from '../doubles/fence.js'
import { reconcileContext } from '../doubles/reconcile-context.js'
import { localBaseImages } from './base-images.js'
import { testEnv } from './db.js'
import { docker } from './docker.js'
import { createRevisionRows, type RevisionRows } from './revisions.js'

export type { RevisionInput } from './revisions.js'

/** The keys the test API seals with, so what it seals the reconcilers can open. */
export const TEST_SECRET_KEYS = testSecrets.secretKeys

/**
 * Revision rows (helpers/revisions.ts) and what the build tests do with them: run the deployment
 * reconciler on a revision, on the real engine unless a runtime is given. `close` removes the
 * images built for the project, the database and the scratch directory.
 */
export interface BuildWorld extends RevisionRows {
  root: string
  workRoot: string
  /** This world's instance labels: what it builds and runs, its garbage collection alone may touch. */
  owner: Ownership
  reconcilerDeps(extra?: Partial<DeploymentReconcilerDeps>): DeploymentReconcilerDeps
  reconcile(id: string, extra?: Partial<DeploymentReconcilerDeps>): Promise<void>
  close(): Promise<void>
}

export async function createBuildWorld(prefix: string, runtime?: FencedRuntime): Promise<BuildWorld> {
  const rows = await createRevisionRows(prefix)
  const root = await mkdtemp(path.join(os.tmpdir(), `gilgal-${prefix}-`))
  const owner = ownership(`t-${testEnv().runId}-${prefix}`)
  const engine =
    runtime ??
    fencedRuntime(createDockerRuntime(createDockerClient(process.env.DOCKER_HOST), owner), alwaysCurrent)
  const world: BuildWorld = {
    ...rows,
    root,
    workRoot: path.join(root, 'work'),
    owner,
    reconcilerDeps: (extra = {}) => ({
      pool: rows.db.pool,
      runtime: engine,
      workRoot: world.workRoot,
      allowLocalSources: true,
      allowLocalImages: true,
      allowPrivateSources: true,
      baseImages: localBaseImages(),
      buildMemoryBytes: 512 * 1024 * 1024,
      admission: new PQueue({ concurrency: 1 }),
      cancelPollMs: 100,
      secretKeys: TEST_SECRET_KEYS,
      ...extra,
    }),
    async reconcile(id, extra) {
      const reconciler = createDeploymentReconciler(world.reconcilerDeps(extra))
      await reconciler.reconcile({ kind: 'Deployment', id }, new AbortController().signal, reconcileContext())
    },
    async close() {
      // A world on a fake runtime built nothing on the engine.
      const filters = { label: [`dev.gilgal.project=${rows.projectId}`] }
      if (!runtime)
        for (const image of await docker.listImages({ filters }))
          await docker.getImage(image.Id).remove({ force: true })
      await rows.db.drop()
      await rm(root, { recursive: true, force: true })
    },
  }
  return world
}
