import { readFileSync } from 'node:fs'
import { readdir, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type PQueue from 'p-queue'
import { DetectionError, detectFramework, type SourceTree } from '../../build/detect.js'
import { generateDockerfile, type BaseImages } from '../../build/dockerfiles.js'
import { fetchCommit, removeWorkspace, resolveCommit, SourceError } from '../../build/git.js'
import { buildArgsFor, imageTag } from '../../build/image-tag.js'
import type { DockerClient } from '../../runtime/docker.js'
import { BuildCancelledError, BuildError, buildImage, findImage } from '../../runtime/build.js'
import { LABELS } from '../../runtime/labels.js'
import {
  isCancelRequested,
  mergeDeploymentStatus,
  readBuildState,
  recordDetectedFramework,
  type BuildState,
} from '../../store/builds.js'
import type { Pool } from '../../store/pool.js'
import type { Fence } from '../../controller/lease.js'
import type { Reconciler } from '../reconciler.js'
import { DeploymentLogWriter } from './log-writer.js'

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
}

const SETTLED = ['Failed', 'Cancelled', 'Deploying', 'Active', 'Superseded']
const GENERATED_DOCKERFILE = '.gilgal.Dockerfile'

type Failure = { phase: 'Failed'; reason: string; message: string } | { phase: 'Cancelled'; message: string }

/**
 * The deployment reconciler (issue 5): a revision's source becomes an image. Queued → Building →
 * built (status.imageId/imageTag/commit; the environment reconciler takes it from there) or Failed
 * with a reason, or Cancelled. An image for the same commit and build inputs is reused, not rebuilt.
 */
export function createDeploymentReconciler(deps: DeploymentReconcilerDeps): Reconciler {
  void removeStaleWorkspaces(deps.workRoot, Date.now())
  return {
    async reconcile(key, signal) {
      const state = await readBuildState(deps.pool, key.slice(key.indexOf('/') + 1))
      if (!state || typeof state.status.imageId === 'string' || SETTLED.includes(String(state.status.phase)))
        return {}
      if (state.cancelRequested) {
        await finish(deps.pool, state, { phase: 'Cancelled', message: 'cancelled before it was built' })
        return {}
      }
      await deps.admission.add(() => build(deps, state, signal))
      return {}
    },
  }
}

async function build(deps: DeploymentReconcilerDeps, state: BuildState, signal: AbortSignal): Promise<void> {
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
  await mergeDeploymentStatus(deps.pool, state.id, { phase: 'Building', buildStartedAt: new Date() })
  let workspace: string | undefined
  try {
    const built = await buildSource(deps, state, cancel.signal, log, (dir) => (workspace = dir))
    await deps.fence?.assertCurrent()
    await mergeDeploymentStatus(deps.pool, state.id, {
      ...built,
      builtAt: new Date(),
      observedGeneration: state.generation,
    })
  } catch (error) {
    // Shutdown or lost leadership is no verdict on the revision: it is built again later.
    const failure = signal.aborted ? undefined : classify(error, cancel.signal.aborted)
    if (!failure) throw error // transient: the work queue retries with backoff
    log.write('system', failure.message, failure.phase === 'Failed' ? 'error' : 'info')
    await finish(deps.pool, state, failure)
  } finally {
    clearInterval(poll)
    signal.removeEventListener('abort', onAbort)
    await log.flush()
    if (workspace) await removeWorkspace(workspace)
  }
}

async function buildSource(
  deps: DeploymentReconcilerDeps,
  state: BuildState,
  signal: AbortSignal,
  log: DeploymentLogWriter,
  onWorkspace: (dir: string) => void,
): Promise<Record<string, unknown>> {
  const spec = state.spec as {
    source: { git?: { url: string; ref: string; path: string }; image?: string }
    build?: { dockerfile?: string; args?: Record<string, string>; target?: string | null }
    env?: Record<string, string>
  }
  if (spec.source.image) {
    const imageId = await findImage(deps.engine, spec.source.image)
    if (!imageId) throw new ImageNotFound(`image ${spec.source.image} is not on this engine`)
    return { imageId, imageTag: spec.source.image }
  }
  const git = spec.source.git!
  const options = { allowLocal: deps.allowLocalSources, signal }
  log.write('system', `resolving ${git.ref} in ${git.url}`)
  const commit = await resolveCommit(git.url, git.ref, options)
  log.write('system', `fetching ${commit.slice(0, 12)}`)
  const { workspace, sourceDir } = await fetchCommit(git.url, commit, deps.workRoot, git.path, options)
  onWorkspace(workspace)
  const dockerfilePath = spec.build?.dockerfile ?? 'Dockerfile'
  const tree = fileTree(sourceDir)
  const ownDockerfile = tree.read(dockerfilePath)
  const detection = ownDockerfile === undefined ? detectFramework(tree) : undefined
  const dockerfile = ownDockerfile ?? generateDockerfile(detection!, deps.baseImages).dockerfile
  if (ownDockerfile === undefined) await writeFile(path.join(sourceDir, GENERATED_DOCKERFILE), dockerfile)
  log.write(
    'system',
    detection ? `detected ${detection.framework} (${detection.reason})` : `using ${dockerfilePath}`,
  )
  await recordDetectedFramework(deps.pool, state.projectId, detection?.framework ?? 'dockerfile')
  const { buildArgs, fromEnv } = buildArgsFor(spec.build?.args ?? {}, spec.env ?? {})
  const target = spec.build?.target ?? null
  const tag = imageTag(state.projectName, commit, { dockerfile, path: git.path, target, buildArgs })
  const result = {
    commit,
    imageTag: tag,
    framework: detection?.framework ?? 'dockerfile',
    buildArgsFromEnv: fromEnv,
  }
  await deps.fence?.assertCurrent()
  const existing = await findImage(deps.engine, tag)
  if (existing) {
    log.write('system', `reusing image ${tag}: same commit and build inputs`)
    return { ...result, imageId: existing, reused: true }
  }
  const imageId = await buildImage(
    deps.engine,
    {
      contextDir: sourceDir,
      dockerfile: ownDockerfile === undefined ? GENERATED_DOCKERFILE : dockerfilePath,
      tag,
      labels: { [LABELS.managed]: 'true', [LABELS.project]: state.projectId },
      buildArgs,
      target,
      memoryBytes: deps.buildMemoryBytes,
      signal,
    },
    (line) => log.write(line.stream, line.message),
  )
  return { ...result, imageId, reused: false }
}

class ImageNotFound extends Error {}

/** The terminal outcome for an error, or undefined when retrying may help. */
function classify(error: unknown, cancelRequested: boolean): Failure | undefined {
  if (error instanceof BuildCancelledError || cancelRequested)
    return { phase: 'Cancelled', message: 'the build was cancelled' }
  if (error instanceof SourceError)
    return { phase: 'Failed', reason: 'SourceUnavailable', message: error.message }
  if (error instanceof ImageNotFound)
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
 * A process killed mid-build leaves its workspace behind: a new term removes those older than itself
 * (newer ones belong to builds it has started since).
 */
async function removeStaleWorkspaces(workRoot: string, before: number): Promise<void> {
  const entries = await readdir(workRoot).catch(() => [] as string[])
  for (const entry of entries) {
    const dir = path.join(workRoot, entry)
    const info = await stat(dir).catch(() => undefined)
    if (info && info.mtimeMs < before) await removeWorkspace(dir)
  }
}

/** The build workspace as a SourceTree (detection reads a handful of small files). */
function fileTree(root: string): SourceTree {
  return {
    read(file) {
      const full = path.resolve(root, file)
      if (!full.startsWith(`${root}${path.sep}`)) return undefined
      try {
        return readFileSync(full, 'utf8')
      } catch {
        return undefined
      }
    },
  }
}
