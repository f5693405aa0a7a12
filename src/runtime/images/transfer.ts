import type Docker from 'dockerode'
import { GilgalError } from '../../errors.js'
import type { ProgressLine, RegistryAuth } from '../runtime.js'
import { splitReference } from './references.js'

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
  onLine: (line: ProgressLine) => void,
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
  onLine: (line: ProgressLine) => void,
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
  onLine: (line: ProgressLine) => void,
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

function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json
  return (json?.message ?? (error as Error).message).trim()
}
