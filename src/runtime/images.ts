import type Docker from 'dockerode'
import { GilgalError } from '../errors.js'
import type { BuildLine } from './build.js'
import { ownership, type Ownership } from './labels.js'

/** Credentials for one registry, as the engine's API takes them. */
export interface RegistryAuth {
  serveraddress: string
  username: string
  password: string
}

/** The engine could not pull an image: it does not exist, or the credentials do not reach it. */
export class ImagePullError extends GilgalError {
  constructor(ref: string, detail: string) {
    super('GILGAL_IMAGE_PULL_FAILED', 422, 'Image not found', `could not pull ${ref}: ${detail}`)
  }
}

/** A built image could not be pushed to the registry (worth retrying: registries go away and come back). */
export class ImagePushError extends GilgalError {
  constructor(ref: string, detail: string) {
    super('GILGAL_IMAGE_PUSH_FAILED', 503, 'Image push failed', `could not push ${ref}: ${detail}`)
  }
}

interface ProgressEvent {
  status?: string
  id?: string
  error?: string
  aux?: { Digest?: string }
}

/**
 * Pulls `ref` (with credentials when given) and resolves with the image id. Progress lines go to
 * `onLine` once per layer state, not once per byte count.
 */
export async function pullImage(
  docker: Docker,
  ref: string,
  auth: RegistryAuth | undefined,
  onLine: (line: BuildLine) => void,
): Promise<string> {
  let stream: NodeJS.ReadableStream
  try {
    stream = (await docker.pull(ref, auth ? { authconfig: auth } : {})) as NodeJS.ReadableStream
  } catch (error) {
    throw new ImagePullError(ref, engineMessage(error))
  }
  const failure = await follow(docker, stream, onLine)
  if (failure) throw new ImagePullError(ref, failure)
  return (await docker.getImage(ref).inspect()).Id
}

/** Tags `imageId` as `remoteRef` and pushes it; resolves with the pushed manifest's digest. */
export async function pushImage(
  docker: Docker,
  imageId: string,
  remoteRef: string,
  auth: RegistryAuth | undefined,
  onLine: (line: BuildLine) => void,
): Promise<string | undefined> {
  const { repository, tag } = splitReference(remoteRef)
  let digest: string | undefined
  try {
    await docker.getImage(imageId).tag({ repo: repository, tag })
    const stream = (await docker
      .getImage(repository)
      .push({ tag, ...(auth ? { authconfig: auth } : {}) })) as NodeJS.ReadableStream
    const failure = await follow(docker, stream, onLine, (event) => {
      digest = event.aux?.Digest ?? digest
    })
    if (failure) throw new ImagePushError(remoteRef, failure)
  } catch (error) {
    if (error instanceof ImagePushError) throw error
    throw new ImagePushError(remoteRef, engineMessage(error))
  }
  return digest
}

/** Follows a pull or push progress stream; resolves with the first error it reported, if any. */
function follow(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onLine: (line: BuildLine) => void,
  onEvent: (event: ProgressEvent) => void = () => undefined,
): Promise<string | undefined> {
  const seen = new Set<string>()
  let failure: string | undefined
  return new Promise((resolve) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null) => resolve(failure ?? error?.message),
      (event: ProgressEvent) => {
        onEvent(event)
        if (event.error) {
          failure ??= event.error
          onLine({ stream: 'stderr', message: event.error })
          return
        }
        const message = [event.id, event.status].filter(Boolean).join(': ')
        if (!message || seen.has(message) || event.status === 'Downloading' || event.status === 'Pushing')
          return
        seen.add(message)
        onLine({ stream: 'stdout', message })
      },
    )
  })
}

/** `host:5000/a/b:tag` → repository `host:5000/a/b`, tag `tag` (a port is not a tag). */
export function splitReference(ref: string): { repository: string; tag: string } {
  const slash = ref.lastIndexOf('/')
  const colon = ref.lastIndexOf(':')
  return colon > slash
    ? { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) }
    : { repository: ref, tag: 'latest' }
}

/** The registry host an image reference names: Docker Hub unless the first part looks like a host. */
export function registryHost(ref: string): string {
  const first = ref.split('/')[0]!
  const isHost = ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
  return isHost ? first : 'docker.io'
}

function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json
  return (json?.message ?? (error as Error).message).trim()
}

/**
 * Removes Gilgal's dangling images (a rebuilt tag's previous image, a push's leftovers): untagged, so
 * nothing can run them by name. One still used by a container is kept. Unlabelled images are never
 * looked at.
 */
export async function removeDanglingImages(docker: Docker, owner: Ownership = ownership()): Promise<number> {
  const images = await docker.listImages({ filters: { dangling: ['true'], label: owner.filters } })
  let removed = 0
  for (const image of images.filter((i) => owner.owns(i.Labels))) {
    try {
      await docker.getImage(image.Id).remove()
      removed++
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode
      if (status !== 404 && status !== 409) throw error
    }
  }
  return removed
}
