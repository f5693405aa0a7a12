// Object ids are UUIDs (PostgreSQL's gen_random_uuid). Names are never UUID-shaped, so a route can
// take either.
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
const ANY_CASE = new RegExp(`^${UUID}$`, 'i')
const CANONICAL = new RegExp(`^${UUID}$`)

/** A UUID as PostgreSQL accepts it, in either case. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && ANY_CASE.test(value)
}

/**
 * A UUID as PostgreSQL prints it (lowercase). Work-queue keys take only this form, so one object has
 * exactly one key and is never reconciled twice at once.
 */
export function isCanonicalUuid(value: unknown): value is string {
  return typeof value === 'string' && CANONICAL.test(value)
}
