import { readFile } from 'node:fs/promises'
import path from 'node:path'
import ignoreModule from '@balena/dockerignore'
import type Docker from 'dockerode'
import { pack } from 'tar-fs'
import { GilgalError } from '../errors.js'

export interface BuildRequest {
  /** The build context directory. */
  contextDir: string
  /** Dockerfile path inside the context. */
  dockerfile: string
  tag: string
  labels: Record<string, string>
  buildArgs?: Record<string, string>
  target?: string | null
  memoryBytes?: number
  /** Paths (relative to the context) never sent to the engine, whatever .dockerignore says. */
  exclude?: string[]
  /** CPU limit in cores. */
  cpus?: number
  signal?: AbortSignal
}

export interface BuildLine {
  stream: 'stdout' | 'stderr'
  message: string
}

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

/**
 * Builds an image from a directory (a tar stream in, Docker's JSON progress out), calling `onLine` for
 * each line of output. Intermediate containers are always removed; memory and CPU are capped so a
 * build cannot starve the apps on the host; aborting `signal` cancels the build in the engine.
 * Resolves with the image id.
 */
export async function buildImage(
  docker: Docker,
  request: BuildRequest,
  onLine: (line: BuildLine) => void,
): Promise<string> {
  if (request.signal?.aborted) throw new BuildCancelledError()
  const stream = (await docker.buildImage((await packContext(request)) as unknown as NodeJS.ReadableStream, {
    t: request.tag,
    dockerfile: request.dockerfile,
    labels: request.labels,
    buildargs: request.buildArgs ?? {},
    ...(request.target ? { target: request.target } : {}),
    ...(request.memoryBytes ? { memory: request.memoryBytes, memswap: request.memoryBytes } : {}),
    ...(request.cpus ? { cpuperiod: 100_000, cpuquota: Math.round(request.cpus * 100_000) } : {}),
    rm: true,
    forcerm: true,
  })) as NodeJS.ReadableStream & { destroy(): void }
  const recent: string[] = []
  let imageId: string | undefined
  let failure: string | undefined
  const cancel = () => stream.destroy()
  request.signal?.addEventListener('abort', cancel, { once: true })
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
      stream.on('close', () => (request.signal?.aborted ? reject(new BuildCancelledError()) : undefined))
    })
  } catch (error) {
    if (request.signal?.aborted) throw new BuildCancelledError()
    throw new BuildError(`the build stream failed: ${(error as Error).message}`, recent)
  } finally {
    request.signal?.removeEventListener('abort', cancel)
  }
  if (request.signal?.aborted) throw new BuildCancelledError()
  if (failure || !imageId) throw new BuildError(failure ?? 'the build produced no image', recent)
  return imageId
}

/** The lowest TCP port the image EXPOSEs (what the app listens on, unless told otherwise). */
export async function exposedPort(docker: Docker, image: string): Promise<number | undefined> {
  const info = await docker.getImage(image).inspect()
  const ports = Object.keys(info.Config.ExposedPorts ?? {})
    .filter((port) => port.endsWith('/tcp'))
    .map((port) => Number.parseInt(port, 10))
  return ports.length > 0 ? Math.min(...ports) : undefined
}

/** The id of the image tagged `tag`, or undefined when the engine has none. */
export async function findImage(docker: Docker, tag: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(tag).inspect()).Id
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined
    throw error
  }
}

/**
 * The build context as a tar stream, without what its .dockerignore excludes (the engine's API does
 * not apply .dockerignore; the CLI does, so this keeps the CLI's meaning). The Dockerfile and
 * .dockerignore themselves are always sent, as Docker does.
 */
async function packContext({
  contextDir,
  dockerfile,
  exclude = [],
}: BuildRequest): Promise<NodeJS.ReadableStream> {
  const rules = await readFile(path.join(contextDir, '.dockerignore'), 'utf8').catch(() => '')
  const filter = dockerignore({ ignorecase: false }).add(rules.split('\n'))
  const excluded = dockerignore({ ignorecase: false }).add(exclude)
  const always = new Set([path.normalize(dockerfile), '.dockerignore'])
  return pack(contextDir, {
    ignore: (name) => {
      const relative = path.relative(contextDir, name)
      return excluded.ignores(relative) || (!always.has(relative) && filter.ignores(relative))
    },
  })
}
