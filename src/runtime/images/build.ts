import { lstat, readFile } from 'node:fs/promises'
import path from 'node:path'
import ignoreModule from '@balena/dockerignore'
import type Docker from 'dockerode'
import { pack } from 'tar-fs'
import { GilgalError } from '../../errors.js'
import type { ImageBuild, ProgressLine } from '../runtime.js'

/** A build that failed: `lastLines` are what the user needs to see (the error and what led to it). */
export class BuildError extends GilgalError {
  constructor(
    message: string,
    readonly lastLines: string[],
  ) {
    super('GILGAL_BUILD_FAILED', 422, 'Build failed', message)
  }
}

export class BuildCancelledError extends GilgalError {
  constructor() {
    super('GILGAL_BUILD_CANCELLED', 409, 'Build cancelled', 'the build was cancelled')
  }
}

interface ProgressEvent {
  stream?: string
  status?: string
  error?: string
  errorDetail?: { message?: string }
  aux?: { ID?: string }
}

// The package is CommonJS (module.exports = factory) while its types declare a default export.
const dockerignore = ignoreModule as unknown as typeof ignoreModule.default

const KEPT_LINES = 20
/** Where the Dockerfile goes in the context sent to the engine: beside the checkout, never written into it. */
const DOCKERFILE_ENTRY = '.gilgal.Dockerfile'

/**
 * Builds an image from a directory (a tar stream in, Docker's JSON progress out), calling `onLine` for
 * each line of output. Intermediate containers are always removed; memory and CPU are capped so a
 * build cannot starve the apps on the host; aborting `signal` cancels the build in the engine.
 * Resolves with the image id.
 */
export async function buildImage(
  docker: Docker,
  build: ImageBuild,
  onLine: (line: ProgressLine) => void,
): Promise<string> {
  if (build.signal?.aborted) throw new BuildCancelledError()
  const labelled = withLabels(build.dockerfile, build.labels, build.target)
  const context = await packContext(build, labelled ?? build.dockerfile)
  const stream = (await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
    t: build.tag,
    dockerfile: DOCKERFILE_ENTRY,
    labels: labelled === undefined ? build.labels : {},
    buildargs: build.buildArgs,
    ...(build.target ? { target: build.target } : {}),
    ...(build.memoryBytes ? { memory: build.memoryBytes, memswap: build.memoryBytes } : {}),
    ...(build.cpus ? { cpuperiod: 100_000, cpuquota: Math.round(build.cpus * 100_000) } : {}),
    ...(build.pull ? { pull: true } : {}),
    rm: true,
    forcerm: true,
  })) as NodeJS.ReadableStream & { destroy(): void }
  const imageId = await followBuild(docker, stream, build.signal, onLine)
  await assertOwnLabels(docker, imageId, build.labels)
  return imageId
}

const OWN_LABEL = 'dev.gilgal.'

/**
 * Gilgal's labels on an image say whose it is, so a Dockerfile may not set them (a LABEL after ours,
 * or one spelled through a build arg, would pass it off as another project's or installation's): an
 * image whose dev.gilgal.* labels are not exactly the ones asked for is removed, and the build fails.
 */
async function assertOwnLabels(
  docker: Docker,
  imageId: string,
  labels: Record<string, string>,
): Promise<void> {
  const found = (await docker.getImage(imageId).inspect()).Config.Labels ?? {}
  const keys = new Set(
    [...Object.keys(found), ...Object.keys(labels)].filter((key) => key.startsWith(OWN_LABEL)),
  )
  const forged = [...keys].filter((key) => found[key] !== labels[key])
  if (forged.length === 0) return
  await docker
    .getImage(imageId)
    .remove()
    .catch(() => undefined)
  throw new BuildError(`the Dockerfile sets Gilgal's own labels (${forged.join(', ')}), which it may not`, [])
}

/** Follows the engine's build progress until the image id or a failure (or the signal) ends it. */
async function followBuild(
  docker: Docker,
  stream: NodeJS.ReadableStream & { destroy(): void },
  signal: AbortSignal | undefined,
  onLine: (line: ProgressLine) => void,
): Promise<string> {
  const recent: string[] = []
  let imageId: string | undefined
  let failure: string | undefined
  const cancel = () => stream.destroy()
  signal?.addEventListener('abort', cancel, { once: true })
  try {
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: ProgressEvent) => {
          if (event.aux?.ID) imageId = event.aux.ID
          const text = event.error ?? event.errorDetail?.message ?? event.stream ?? event.status
          if (event.error) failure = event.error.trim()
          for (const message of (text ?? '').split('\n').filter((line) => line.trim() !== '')) {
            recent.push(message)
            if (recent.length > KEPT_LINES) recent.shift()
            onLine({ stream: event.error ? 'stderr' : 'stdout', message })
          }
        },
      )
      stream.on('close', () => (signal?.aborted ? reject(new BuildCancelledError()) : undefined))
    })
  } catch (error) {
    if (signal?.aborted) throw new BuildCancelledError()
    throw new BuildError(`the build stream failed: ${(error as Error).message}`, recent)
  } finally {
    signal?.removeEventListener('abort', cancel)
  }
  if (signal?.aborted) throw new BuildCancelledError()
  if (failure || !imageId) throw new BuildError(failure ?? 'the build produced no image', recent)
  return imageId
}

/**
 * The build context as a tar stream, without what its .dockerignore excludes (the engine's API does
 * not apply .dockerignore; the CLI does, so this keeps the CLI's meaning), with the Dockerfile added
 * as one more entry. The .dockerignore itself is always sent, as Docker does.
 */
async function packContext(build: ImageBuild, dockerfile: string): Promise<NodeJS.ReadableStream> {
  const { contextDir, exclude = [] } = build
  const rules = await readDockerignore(contextDir)
  const filter = dockerignore({ ignorecase: false }).add(rules.split('\n'))
  const excluded = dockerignore({ ignorecase: false }).add([...exclude, DOCKERFILE_ENTRY])
  return pack(contextDir, {
    ignore: (name) => {
      const relative = path.relative(contextDir, name)
      return excluded.ignores(relative) || (relative !== '.dockerignore' && filter.ignores(relative))
    },
    finalize: false,
    finish: (tar) => tar.entry({ name: DOCKERFILE_ENTRY }, dockerfile, () => tar.finalize()),
  })
}

/**
 * The context's .dockerignore, or nothing. A repository decides what it holds, so a link there (to a
 * host file, say) is refused rather than followed.
 */
async function readDockerignore(contextDir: string): Promise<string> {
  const file = path.join(contextDir, '.dockerignore')
  const info = await lstat(file).catch(() => undefined)
  if (info === undefined) return ''
  if (!info.isFile()) throw new BuildError('.dockerignore must be a file of the repository, not a link', [])
  return readFile(file, 'utf8')
}

/**
 * `dockerfile` with one LABEL instruction right after the final stage's FROM. One instruction, since
 * the engine's `labels` build option costs a build step (a container) per label; at the top of the
 * stage, since there it is a cache hit for every build of the project after the first. Undefined when
 * that is not safe (a build target, which may not be the last stage; a FROM line continued onto the
 * next; another escape character): pass the labels as build options then.
 */
export function withLabels(
  dockerfile: string,
  labels: Record<string, string>,
  target: string | null,
): string | undefined {
  const lines = dockerfile.split('\n')
  const lastFrom = lines.findLastIndex((line) => /^\s*FROM\s/i.test(line))
  const unsafe = target || lastFrom < 0 || lines[lastFrom]!.trimEnd().endsWith('\\')
  if (unsafe || /^#\s*escape\s*=/im.test(dockerfile)) return undefined
  const pairs = Object.entries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`)
  lines.splice(lastFrom + 1, 0, `LABEL ${pairs.join(' ')}`)
  return lines.join('\n')
}
