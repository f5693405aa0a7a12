import type { SecretKey } from '../../config/secrets.js'
import { specDefaults } from '../../manifests/schemas.js'
import type { Build, DeploymentStatus, ResolvedSource } from '../../model/specs.js'
import { LABELS } from '../../runtime/labels.js'
import type { FencedRuntime } from '../../runtime/fence.js'
import { registryHost, repositoryOf, withTag } from '../../runtime/images/references.js'
import { ImagePullError } from '../../runtime/images/transfer.js'
import { resolvePublic } from '../../net/outbound.js'
import { buildArgsFor, imageTag } from '../../source/build-inputs.js'
import { directoryTree } from '../../source/checkout.js'
import { detectFramework } from '../../source/detect.js'
import { generateDockerfile, type BaseImages } from '../../source/dockerfiles.js'
import { fetchCommit, isLocalSourceInside, resolveCommit } from '../../source/git.js'
import type { BuildState } from '../../store/deployments.js'
import { recordDetectedFramework } from '../../store/projects.js'
import type { Pool } from '../../store/pool.js'
import { gitAuth, registryAuth } from './credentials.js'
import type { DeploymentLogWriter } from './log-writer.js'

// The schema's build defaults under what the row holds: a row written by hand, or by an older Gilgal,
// may lack a field, and a missing target must hash as the null it means.
const BUILD_DEFAULTS = specDefaults('Environment').build

function buildOf(state: BuildState): Build {
  return { ...BUILD_DEFAULTS, ...state.spec.build }
}

/** What turning a revision's source into an image needs. */
export interface ImageSourceDeps {
  pool: Pool
  runtime: FencedRuntime
  /** Build workspaces go here (under the data dir); each is deleted when its build ends. */
  workRoot: string
  allowLocalSources: boolean
  /**
   * Local repositories under this directory are the operator's own (`gilgal seed` makes its demo
   * there): they build even when local sources are refused. No user can name one: the API refuses
   * every file:// URL unless local sources are allowed, so only the seed writes them.
   */
  operatorRepositories?: string
  /** GILGAL_ALLOW_LOCAL_IMAGES: a prebuilt image no registry gives may run from the engine's copy. */
  allowLocalImages: boolean
  /** GILGAL_ALLOW_PRIVATE_SOURCES: git remotes and registries at addresses inside this server's networks. */
  allowPrivateSources: boolean
  baseImages: BaseImages
  buildMemoryBytes: number
  /** GILGAL_REGISTRY: built images are pushed there. */
  registry?: string
  /** Unseal the projects' registry passwords. */
  secretKeys: readonly SecretKey[]
}

/** The image a revision runs, as the status fields the deployment reconciler records. */
export type ProducedImage = { imageId: string; imageTag: string } & Pick<
  DeploymentStatus,
  | 'commit'
  | 'framework'
  | 'buildArgsFromEnv'
  | 'reused'
  | 'pulled'
  | 'imageDigest'
  | 'registryImage'
  | 'registryDigest'
>

/**
 * A prebuilt image is pulled when the engine lacks it; a git source is fetched at its commit and
 * built (or an image of the same inputs reused), then pushed to GILGAL_REGISTRY when one is set.
 */
export async function produceImage(
  deps: ImageSourceDeps,
  state: BuildState,
  signal: AbortSignal,
  log: DeploymentLogWriter,
  onWorkspace: (dir: string) => void,
): Promise<ProducedImage> {
  const { source } = state.spec
  if ('image' in source) return usePrebuilt(deps, state, source.image, log)
  const built = await buildFromGit(deps, state, source.git, signal, log, onWorkspace)
  if (!deps.registry) return built
  return { ...built, ...(await pushToRegistry(deps, state, built, log)) }
}

/**
 * A prebuilt image is pulled for every new revision, with the project's credentials, as Kubernetes'
 * AlwaysPullImages does: an image somebody else pulled or built gives no project anything. The
 * revision records the id and digest it got, and the rollout runs exactly that id. A rollback runs
 * the image that ran before, while the engine has it.
 */
async function usePrebuilt(
  deps: ImageSourceDeps,
  state: BuildState,
  image: string,
  log: DeploymentLogWriter,
): Promise<ProducedImage> {
  const pinned = state.spec.pinnedImageId
  if (pinned && (await deps.runtime.findImage(pinned))) {
    log.write('system', `using ${image} as it ran before (${pinned.slice(0, 19)})`)
    return { imageId: pinned, imageTag: image, pulled: false }
  }
  const ref = withTag(image) // never a bare word the engine could take for an image id's prefix
  const registry = registryHost(ref)
  // Docker Hub is public; another registry is checked where it resolves (the engine connects itself).
  if (registry !== 'docker.io') await resolvePublic(registry.replace(/:\d+$/, ''), deps.allowPrivateSources)
  const auth = registryAuth(state.registries, deps.secretKeys, registry)
  log.write('system', `pulling ${ref}${auth ? ` as ${auth.username}` : ''}`)
  try {
    const imageId = await deps.runtime.pullImage(ref, auth, (line) => log.write(line.stream, line.message))
    const digest = (await deps.runtime.findImage(imageId))?.digests.find((d) =>
      d.startsWith(`${repositoryOf(ref)}@`),
    )
    return { imageId, imageTag: image, pulled: true, ...(digest ? { imageDigest: digest } : {}) }
  } catch (error) {
    if (!(error instanceof ImagePullError)) throw error
    const running = await imageRunning(deps, state, image)
    if (running) {
      log.write(
        'system',
        `${error.message}: keeping the image this environment runs (${running.imageDigest})`,
      )
      return { ...running, imageTag: image, pulled: false }
    }
    if (!deps.allowLocalImages) throw error
    return useLocalImage(deps, state, ref, error, log)
  }
}

/**
 * The image the environment's Active revision pulled for the same reference, while the engine has
 * it: the project's own, so a registry that does not answer now (an outage, a rate limit) does not
 * fail a change that only touches configuration.
 */
async function imageRunning(
  deps: ImageSourceDeps,
  state: BuildState,
  image: string,
): Promise<{ imageId: string; imageDigest: string } | undefined> {
  const { imageId, imageTag, imageDigest } = state.activeStatus ?? {}
  if (!imageId || !imageDigest || imageTag !== image) return undefined
  return (await deps.runtime.findImage(imageId)) ? { imageId, imageDigest } : undefined
}

/**
 * No registry gives the image: the engine's copy, when the operator allows it, if it exists only on
 * this engine (no registry digest) and is not Gilgal's build for another project.
 */
async function useLocalImage(
  deps: ImageSourceDeps,
  state: BuildState,
  ref: string,
  pullError: ImagePullError,
  log: DeploymentLogWriter,
): Promise<ProducedImage> {
  const local = await deps.runtime.findImage(ref)
  if (!local) throw pullError
  if (local.builtFor !== undefined && local.builtFor !== state.projectId)
    throw new ImagePullError(ref, "no registry gives it, and the engine's copy was built for another project")
  // Pulled by somebody, from a registry that does not give it to this project now (private, say):
  // the engine's copy is not "present only locally", and not this project's to run.
  if (local.digests.length > 0)
    throw new ImagePullError(ref, `${pullError.message}; the engine's copy came from a registry`)
  log.write('system', `no registry gives ${ref}: using the engine's copy (GILGAL_ALLOW_LOCAL_IMAGES)`)
  return { imageId: local.id, imageTag: ref, pulled: false }
}

async function buildFromGit(
  deps: ImageSourceDeps,
  state: BuildState,
  git: Extract<ResolvedSource, { git: unknown }>['git'],
  signal: AbortSignal,
  log: DeploymentLogWriter,
  onWorkspace: (dir: string) => void,
): Promise<ProducedImage & { commit: string }> {
  const credentials = gitAuth(git.credentials, deps.secretKeys, git.url)
  const options = {
    allowLocal: deps.allowLocalSources || isOperatorRepository(git.url, deps.operatorRepositories),
    allowPrivate: deps.allowPrivateSources,
    signal,
    ...(credentials ? { credentials } : {}),
  }
  log.write('system', `resolving ${git.ref} in ${git.url}`)
  const commit = await resolveCommit(git.url, git.ref, options)
  log.write('system', `fetching ${commit.slice(0, 12)}`)
  const { workspace, sourceDir } = await fetchCommit(git.url, commit, deps.workRoot, git.path, options)
  onWorkspace(workspace)
  const build = buildOf(state)
  const recipe = await dockerfileFor(deps, state.projectId, build.dockerfile, sourceDir, log)
  const { buildArgs, fromEnv } = buildArgsFor(build.args, state.spec.env ?? {})
  const { target } = build
  const inputs = { dockerfile: recipe.dockerfile, path: git.path, target, buildArgs }
  const tag = imageTag({ id: state.projectId, name: state.projectName }, commit, inputs)
  const result = { commit, imageTag: tag, framework: recipe.framework, buildArgsFromEnv: fromEnv }
  const existing = await deps.runtime.findImage(tag)
  if (existing) {
    log.write('system', `reusing image ${tag}: same commit and build inputs`)
    return { ...result, imageId: existing.id, reused: true }
  }
  const imageId = await deps.runtime.buildImage(
    {
      contextDir: sourceDir,
      dockerfile: recipe.dockerfile,
      tag,
      labels: { [LABELS.project]: state.projectId },
      buildArgs,
      target,
      memoryBytes: deps.buildMemoryBytes,
      // As `docker build <git url>` does: the checkout's own .git is not the app's. Sent, it would
      // also change every build's context (a fresh clone's index differs) and defeat the layer cache.
      exclude: ['.git'],
      // FROM takes the registry's image, never whatever the engine holds, unless local images are allowed.
      pull: !deps.allowLocalImages,
      signal,
    },
    (line) => log.write(line.stream, line.message),
  )
  return { ...result, imageId, reused: false }
}

/** The source's own Dockerfile, or one generated for the framework detected in it (kept on the project). */
async function dockerfileFor(
  deps: ImageSourceDeps,
  projectId: string,
  path: string,
  sourceDir: string,
  log: DeploymentLogWriter,
): Promise<{ dockerfile: string; framework: string }> {
  const tree = directoryTree(sourceDir)
  const own = tree.read(path)
  const detection = own === undefined ? detectFramework(tree) : undefined
  log.write('system', detection ? `detected ${detection.framework} (${detection.reason})` : `using ${path}`)
  const framework = detection?.framework ?? 'dockerfile'
  await recordDetectedFramework(deps.pool, projectId, framework)
  return { dockerfile: own ?? generateDockerfile(detection!, deps.baseImages).dockerfile, framework }
}

/** Pushes a built image to GILGAL_REGISTRY (same repository and tag under it) so other hosts can pull it. */
async function pushToRegistry(
  deps: ImageSourceDeps,
  state: BuildState,
  built: ProducedImage,
  log: DeploymentLogWriter,
): Promise<Pick<ProducedImage, 'registryImage' | 'registryDigest'>> {
  const registryImage = `${deps.registry}/${built.imageTag}`
  const auth = registryAuth(state.registries, deps.secretKeys, registryHost(registryImage))
  log.write('system', `pushing ${registryImage}`)
  const digest = await deps.runtime.pushImage(built.imageId, registryImage, auth, (line) =>
    log.write(line.stream, line.message),
  )
  return { registryImage, ...(digest ? { registryDigest: digest } : {}) }
}

function isOperatorRepository(url: string, root: string | undefined): boolean {
  return root !== undefined && isLocalSourceInside(url, root)
}
