import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import type PQueue from 'p-queue'
import type { Reconciler } from '../../controller/reconciler.js'
import type { Metrics } from '../../metrics/registry.js'
import { isBuildOver } from '../../model/phases.js'
import type { DeploymentStatus } from '../../model/specs.js'
import { OutboundRefusedError } from '../../net/outbound.js'
import { DockerNotFoundError } from '../../runtime/errors.js'
import { BuildCancelledError, BuildError } from '../../runtime/images/build.js'
import { ImagePullError, ImagePushError } from '../../runtime/images/transfer.js'
import { DetectionError } from '../../source/detect.js'
import { SourceError } from '../../source/errors.js'
import { removeWorkspace } from '../../source/git.js'
import {
  isCancelRequested,
  mergeDeploymentStatus,
  readBuildState,
  startBuilding,
  type BuildState,
} from '../../store/deployments.js'
import { DeploymentLogWriter } from './log-writer.js'
import { produceImage, type ImageSourceDeps } from './produce-image.js'

export interface DeploymentReconcilerDeps extends ImageSourceDeps {
  /** Build admission (GILGAL_BUILD_CONCURRENCY). */
  admission: PQueue
  cancelPollMs?: number
  metrics?: Metrics
}

type Failure = { phase: 'Failed'; reason: string; message: string } | { phase: 'Cancelled'; message: string }

/**
 * The deployment reconciler: a revision's source becomes an image. Queued → Building → built
 * (status.imageId/imageTag/commit; the environment reconciler takes it from there) or Failed with a
 * reason, or Cancelled. An image for the same commit and build inputs is reused, not rebuilt.
 */
export function createDeploymentReconciler(deps: DeploymentReconcilerDeps): Reconciler {
  const leftovers = removeBuildLeftovers(deps, Date.now())
  return {
    async reconcile(key, signal, context) {
      const state = await readBuildState(deps.pool, key.id)
      await leftovers
      if (!state) return {}
      const built = isBuildOver(state.status)
      if (!built && state.cancelRequested) {
        await finish(deps, state, { phase: 'Cancelled', message: 'cancelled before it was built' })
      } else if (!built) {
        await deps.admission.add(() => build(deps, state, signal))
      }
      // Whatever happened (built, failed, a cancel of a deploying revision), the rollout decides next.
      context.enqueue({ kind: 'Environment', id: state.environmentId })
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
    const produced = await produceImage(deps, state, cancel.signal, log, (dir) => (workspace = dir))
    const image = await deps.runtime.findImage(produced.imageId)
    if (!image) throw new DockerNotFoundError(`image ${produced.imageId} is gone from the engine`)
    // A deposed leader must not record a result either: its successor may be building the same revision.
    await deps.runtime.fence.assertCurrent()
    await mergeDeploymentStatus(deps.pool, state.id, {
      ...produced,
      ...(image.exposedPort === undefined ? {} : { exposedPort: image.exposedPort }),
      builtAt: new Date().toISOString(),
      observedGeneration: state.generation,
    })
    deps.metrics?.buildDuration.observe((performance.now() - startedAt) / 1000)
  } catch (error) {
    // Shutdown or lost leadership is no verdict on the revision: it is built again later.
    const failure = signal.aborted ? undefined : classify(error, cancel.signal.aborted)
    if (!failure) {
      // Transient (a registry away, the engine restarting): the work queue retries with backoff, and
      // the status says what is being waited for rather than showing a silent Building.
      if (error instanceof ImagePushError) {
        await deps.runtime.fence.assertCurrent()
        await mergeDeploymentStatus(deps.pool, state.id, { message: `${error.message}; retrying` })
      }
      throw error
    }
    log.write('system', failure.message, failure.phase === 'Failed' ? 'error' : 'info')
    await finish(deps, state, failure)
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
  if (error instanceof OutboundRefusedError)
    return { phase: 'Failed', reason: 'ImageNotFound', message: `registry ${error.message}` }
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

/** Records a revision's verdict: the current leader's to record, like a build's result. */
async function finish(deps: DeploymentReconcilerDeps, state: BuildState, failure: Failure): Promise<void> {
  const patch: DeploymentStatus = {
    ...failure,
    finishedAt: new Date().toISOString(),
    observedGeneration: state.generation,
  }
  await deps.runtime.fence.assertCurrent()
  await mergeDeploymentStatus(deps.pool, state.id, patch)
}

/**
 * A process killed mid-build leaves its workspace behind (the engine drops the build itself when the
 * connection goes): a new term removes workspaces older than itself (newer ones belong to builds it
 * has started since) and Gilgal's dangling images. Best effort: the next term tries again.
 */
async function removeBuildLeftovers(deps: DeploymentReconcilerDeps, before: number): Promise<void> {
  await removeStaleWorkspaces(deps.workRoot, before).catch(() => undefined)
  await deps.runtime.removeDanglingImages().catch(() => undefined)
}

async function removeStaleWorkspaces(workRoot: string, before: number): Promise<void> {
  const entries = await readdir(workRoot).catch(() => [] as string[])
  for (const entry of entries) {
    const dir = path.join(workRoot, entry)
    const info = await stat(dir).catch(() => undefined)
    if (info && info.mtimeMs < before) await removeWorkspace(dir)
  }
}
