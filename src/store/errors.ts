import { ConflictError } from '../errors.js'

const UNIQUE_VIOLATION = '23505'

/**
 * Runs a statement and translates the driver's unique violation into a ConflictError with `message`,
 * so nothing above store/ sees raw SQLSTATEs (graphile-worker's CLASH_CODES).
 */
export async function conflictOnDuplicate<T>(work: Promise<T>, message: string, code: string): Promise<T> {
  try {
    return await work
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION)
      throw new ConflictError(message, code, { cause: error })
    throw error
  }
}

// SQLSTATE class 08 (connection exception) and the server going away or not accepting yet.
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300'])
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'])
// pg's own messages for a connection that ended or never came (they carry no code).
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
]

/**
 * True when `error` says the database could not be reached or dropped the connection (restart,
 * failover, too many connections), not that the statement was wrong: trying again later can succeed.
 * A statement cut off this way was rolled back by the server, unless the loss came after its
 * commit, which the client cannot tell: what is retried must be idempotent (an apply is).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_STATES.has(code))) return true
  if (typeof code === 'string' && UNAVAILABLE_ERRNOS.has(code)) return true
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((text) => message.includes(text))
}
