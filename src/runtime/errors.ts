import { GilgalError } from '../errors.js'

/** Docker's answers, translated at the edge: nothing above runtime/ sees a dockerode error. */
export class DockerNotFoundError extends GilgalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GILGAL_DOCKER_NOT_FOUND', 404, 'Not found in Docker', message, options)
  }
}

export class DockerConflictError extends GilgalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GILGAL_DOCKER_CONFLICT', 409, 'Conflict in Docker', message, options)
  }
}

export class DockerUnreachableError extends GilgalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GILGAL_DOCKER_UNREACHABLE', 503, 'Docker unreachable', message, options)
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
])

/** Maps a dockerode failure (HTTP status, or a socket error) to our types; others pass through. */
export function translateDockerError(error: unknown, what: string): Error {
  const { statusCode, code, json, message } = (error ?? {}) as {
    statusCode?: number
    code?: string
    json?: { message?: string }
    message?: string
  }
  const detail = `${what}: ${json?.message ?? message ?? 'unknown error'}`
  if (statusCode === 404) return new DockerNotFoundError(detail, { cause: error })
  if (statusCode === 409) return new DockerConflictError(detail, { cause: error })
  if (code && UNREACHABLE.has(code)) return new DockerUnreachableError(detail, { cause: error })
  return error instanceof Error ? error : new Error(detail)
}

/** The HTTP status the engine answered a failed call with (undefined for a socket error). */
export const engineStatus = (error: unknown): number | undefined =>
  (error as { statusCode?: number }).statusCode

/**
 * Whether the object a call named is gone: a 404, or the 500 a Swarm node answers for a network its
 * manager has removed while the network still lingers here (until the tasks on it are gone).
 */
export function isGone(error: unknown): boolean {
  const status = engineStatus(error)
  return status === 404 || (status === 500 && /network \S+ not found/.test((error as Error).message ?? ''))
}

/** Runs a Docker call and translates its failure. */
export async function docker<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw translateDockerError(error, what)
  }
}
