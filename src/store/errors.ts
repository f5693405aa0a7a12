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
