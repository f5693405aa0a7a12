import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import type PQueue from 'p-queue'
import { DetectionError } from '../../build/detect.js'
import type { BaseImages } from '../../build/dockerfiles.js'
import { removeWorkspace, SourceError } from '../../build/git.js'
import type { SecretKey } from '../../config/secrets.js'
import type { DockerClient } from '../../runtime/docker.js'
import type { Ownership } from '../../runtime/labels.js'
import type { Metrics } from '../../metrics/registry.js'
import { BuildCancelledError, BuildError, exposedPort } from '../../runtime/build.js'
import { ImagePullError, ImagePushError, removeDanglingImages } from '../../runtime/images.js'
import {
  isCancelRequested,
  mergeDeploymentStatus,
  readBuildState,
  startBuilding,
  type BuildState,
} from '../../store/builds.js'
import type { Pool } from '../../store/pool.js'
import type { Fence } from '../../controller/lease.js'
import type { Reconciler } from '../reconciler.js'
import { DeploymentLogWriter } from './log-writer.js'
import { produceImage } from './source.js'

export interface DeploymentReconcilerDeps {
  pool: Pool
  engine: DockerClient
  /** Build workspaces go here (under the data dir); each is deleted when its build ends. */
  workRoot: string
  allowLocalSources: boolean
  baseImages: BaseImages
  buildMemoryBytes: number
  /** Build admission (GILGAL_BUILD_CONCURRENCY). */
  admission: PQueue
  cancelPollMs?: number
  /** The leadership term's fence: checked before a build starts and before its result is recorded. */
  fence?: Fence
  /** GILGAL_REGISTRY: built images are pushed there. */
  registry?: string
  /** Unseal the projects' registry passwords. */
  secretKeys: readonly SecretKey[]
  /** A revision's image is ready, or its cancel or failure is the environment's business now. */
  onEnvironmentChange?: (environmentId: string) => void
  metrics?: Metrics
  /** Labels built images carry (GILGAL_INSTANCE). */
  ownership?: Ownership
}

const SETTLED = ['Failed', 'Cancelled', 'Deploying', 'Active', 'Superseded']

type Failure = { phase: 'Failed'; reason: string; message: string } | { phase: 'Cancelled'; message: string }

/**
 * The deployment reconciler (issue 5): a revision's source becomes an image. Queued → Building →
 * built (status.imageId/imageTag/commit; the environment reconciler takes it from there) or Failed
 * with a reason, or Cancelled. An image for the same commit and build inputs is reused, not rebuilt.
 */
export function createDeploymentReconciler(deps: DeploymentReconcilerDeps): Reconciler {
  const leftovers = removeBuildLeftovers(deps, Date.now())
  return {
    async reconcile(key, signal) {
      const state = await readBuildState(deps.pool, key.slice(key.indexOf('/') + 1))
      await leftovers
      if (!state) return {}
      const built = typeof state.status.imageId === 'string' || SETTLED.includes(String(state.status.phase))
      if (!built && state.cancelRequested) {
        await finish(deps.pool, state, { phase: 'Cancelled', message: 'cancelled before it was built' })
      } else if (!built) {
        await deps.admission.add(() => build(deps, state, signal))
      }
      // Whatever happened (built, failed, a cancel of a deploying revision), the rollout decides next.
      deps.onEnvironmentChange?.(state.environmentId)
      return {}
    },
  }
}

async function build(deps: DeploymentReconcilerDeps, state: BuildState, signal: AbortSignal): Promise<void> {
  // Settled (superseded by a newer revision, cancelled) while it waited for a build slot: no build.
  if (!(await startBuilding(deps.pool, state.id))) return
  const log = await DeploymentLogWriter.open(deps.pool, state.id)
  const cancel = new AbortController()
  const onAbort = () => cancel.abort()
  signal.addEventListener('abort', onAbort, { once: true })
  // The reconcile is not re-entered while it runs, so a cancel request is polled for.
  const poll = setInterval(() => {
    void isCancelRequested(deps.pool, state.id).then(
      (requested) => requested && cancel.abort(),
      () => undefined,
    )
  }, deps.cancelPollMs ?? 500)
  const startedAt = performance.now()
  let workspace: string | undefined
  try {
    const built = await produceImage(deps, state, cancel.signal, log, (dir) => (workspace = dir))
    const port = await exposedPort(deps.engine, String(built.imageId))
    await deps.fence?.assertCurrent()
    await mergeDeploymentStatus(deps.pool, state.id, {
      ...built,
      ...(port === undefined ? {} : { exposedPort: port }),
      builtAt: new Date(),
      observedGeneration: state.generation,
    })
    deps.metrics?.buildDuration.observe((performance.now() - startedAt) / 1000)
  } catch (error) {
    // Shutdown or lost leadership is no verdict on the revision: it is built again later.
    const failure = signal.aborted ? undefined : classify(error, cancel.signal.aborted)
    if (!failure) {
      // Transient (a registry away, the engine restarting): the work queue retries with backoff, and
      // the status says what is being waited for rather than showing a silent Building.
      if (error instanceof ImagePushError)
        await mergeDeploymentStatus(deps.pool, state.id, { message: `${error.message}; retrying` })
      throw error
    }
    log.write('system', failure.message, failure.phase === 'Failed' ? 'error' : 'info')
    await finish(deps.pool, state, failure)
  } finally {
    clearInterval(poll)
    signal.removeEventListener('abort', onAbort)
    await log.flush()
    if (workspace) await removeWorkspace(workspace)
  }
}

/** The terminal outcome for an error, or undefined when retrying may help. */
function classify(error: unknown, cancelRequested: boolean): Failure | undefined {
  if (error instanceof BuildCancelledError || cancelRequested)
    return { phase: 'Cancelled', message: 'the build was cancelled' }
  if (error instanceof SourceError)
    return { phase: 'Failed', reason: 'SourceUnavailable', message: error.message }
  if (error instanceof ImagePullError)
    return { phase: 'Failed', reason: 'ImageNotFound', message: error.message }
  if (error instanceof DetectionError)
    return { phase: 'Failed', reason: 'BuildFailed', message: error.message }
  if (error instanceof BuildError) {
    return {
      phase: 'Failed',
      reason: 'BuildFailed',
      message: [error.message, ...error.lastLines.slice(-5)].join('\n'),
    }
  }
  return undefined
}

async function finish(pool: Pool, state: BuildState, failure: Failure): Promise<void> {
  const reason = failure.phase === 'Failed' ? { reason: failure.reason } : {}
  const patch = { phase: failure.phase, ...reason, message: failure.message, finishedAt: new Date() }
  await mergeDeploymentStatus(pool, state.id, { ...patch, observedGeneration: state.generation })
}

/**
 * A process killed mid-build leaves its workspace behind (the engine drops the build itself when the
 * connection goes): a new term removes workspaces older than itself (newer ones belong to builds it
 * has started since) and Gilgal's dangling images. Best effort: the next term tries again.
 */
async function removeBuildLeftovers(deps: DeploymentReconcilerDeps, before: number): Promise<void> {
  await removeStaleWorkspaces(deps.workRoot, before).catch(() => undefined)
  await removeDanglingImages(deps.engine, deps.ownership).catch(() => undefined)
}

async function removeStaleWorkspaces(workRoot: string, before: number): Promise<void> {
  const entries = await readdir(workRoot).catch(() => [] as string[])
  for (const entry of entries) {
    const dir = path.join(workRoot, entry)
    const info = await stat(dir).catch(() => undefined)
    if (info && info.mtimeMs < before) await removeWorkspace(dir)
  }
}
