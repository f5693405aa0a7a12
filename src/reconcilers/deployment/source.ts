import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { detectFramework, directoryTree } from '../../build/detect.js'
import { generateDockerfile, withLabels } from '../../build/dockerfiles.js'
import { fetchCommit, resolveCommit } from '../../build/git.js'
import { buildArgsFor, imageTag } from '../../build/image-tag.js'
import { buildImage, findImage } from '../../runtime/build.js'
import { LABELS, ownership } from '../../runtime/labels.js'
import { recordDetectedFramework, type BuildState } from '../../store/builds.js'
import type { DeploymentLogWriter } from './log-writer.js'
import { pullPrebuilt, pushToRegistry } from './registry.js'
import type { DeploymentReconcilerDeps } from './reconcile.js'

const GENERATED_DOCKERFILE = '.gilgal.Dockerfile'

interface RevisionSpec {
  source: { git?: { url: string; ref: string; path: string }; image?: string }
  build?: { dockerfile?: string; args?: Record<string, string>; target?: string | null }
  env?: Record<string, string>
}

/**
 * The image a revision runs, as status fields: a prebuilt image is pulled when the engine lacks it; a
 * git source is fetched at its commit and built (or an image of the same inputs reused), then pushed
 * to GILGAL_REGISTRY when one is set.
 */
export async function produceImage(
  deps: DeploymentReconcilerDeps,
  state: BuildState,
  signal: AbortSignal,
  log: DeploymentLogWriter,
  onWorkspace: (dir: string) => void,
): Promise<Record<string, unknown>> {
  const spec = state.spec as unknown as RevisionSpec
  if (spec.source.image) return pullPrebuilt(deps, state, spec.source.image, log)
  const built = await buildFromGit(deps, state, spec, signal, log, onWorkspace)
  if (!deps.registry) return built
  return { ...built, ...(await pushToRegistry(deps, state, built, log)) }
}

async function buildFromGit(
  deps: DeploymentReconcilerDeps,
  state: BuildState,
  spec: RevisionSpec,
  signal: AbortSignal,
  log: DeploymentLogWriter,
  onWorkspace: (dir: string) => void,
): Promise<{ imageId: string; imageTag: string } & Record<string, unknown>> {
  const git = spec.source.git!
  const options = { allowLocal: deps.allowLocalSources, signal }
  log.write('system', `resolving ${git.ref} in ${git.url}`)
  const commit = await resolveCommit(git.url, git.ref, options)
  log.write('system', `fetching ${commit.slice(0, 12)}`)
  const { workspace, sourceDir } = await fetchCommit(git.url, commit, deps.workRoot, git.path, options)
  onWorkspace(workspace)
  const dockerfilePath = spec.build?.dockerfile ?? 'Dockerfile'
  const tree = directoryTree(sourceDir)
  const ownDockerfile = tree.read(dockerfilePath)
  const detection = ownDockerfile === undefined ? detectFramework(tree) : undefined
  const dockerfile = ownDockerfile ?? generateDockerfile(detection!, deps.baseImages).dockerfile
  log.write(
    'system',
    detection ? `detected ${detection.framework} (${detection.reason})` : `using ${dockerfilePath}`,
  )
  const framework = detection?.framework ?? 'dockerfile'
  await recordDetectedFramework(deps.pool, state.projectId, framework)
  const { buildArgs, fromEnv } = buildArgsFor(spec.build?.args ?? {}, spec.env ?? {})
  const target = spec.build?.target ?? null
  const tag = imageTag({ id: state.projectId, name: state.projectName }, commit, {
    dockerfile,
    path: git.path,
    target,
    buildArgs,
  })
  const result = { commit, imageTag: tag, framework, buildArgsFromEnv: fromEnv }
  await deps.fence?.assertCurrent()
  const existing = await findImage(deps.engine, tag)
  if (existing) {
    log.write('system', `reusing image ${tag}: same commit and build inputs`)
    return { ...result, imageId: existing, reused: true }
  }
  const labels = { ...(deps.ownership ?? ownership()).labels, [LABELS.project]: state.projectId }
  const labelled = withLabels(dockerfile, labels, target)
  const written = labelled ?? (ownDockerfile === undefined ? dockerfile : undefined)
  if (written !== undefined) await writeFile(path.join(sourceDir, GENERATED_DOCKERFILE), written)
  const imageId = await buildImage(
    deps.engine,
    {
      contextDir: sourceDir,
      dockerfile: written === undefined ? dockerfilePath : GENERATED_DOCKERFILE,
      tag,
      labels: labelled === undefined ? labels : {},
      buildArgs,
      target,
      memoryBytes: deps.buildMemoryBytes,
      // As `docker build <git url>` does: the checkout's own .git is not the app's. Sent, it would
      // also change every build's context (a fresh clone's index differs) and defeat the layer cache.
      exclude: ['.git'],
      signal,
    },
    (line) => log.write(line.stream, line.message),
  )
  return { ...result, imageId, reused: false }
}
