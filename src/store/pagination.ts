import { isUuid } from '../model/ids.js'
import { ValidationError } from '../errors.js'

/** Keyset pagination: the cursor names the last row of the previous page (opaque to clients). */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url')
}

type CursorField = 'text' | 'int' | 'uuid' | 'timestamp'

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)$/

// Each position is checked as the query will use it, so a forged cursor is a 422, never a database error.
const FIELD_CHECKS: Record<CursorField, (value: unknown) => boolean> = {
  text: (value) => typeof value === 'string' && value.length <= 200,
  int: (value) => Number.isSafeInteger(value),
  uuid: (value) => typeof value === 'string' && isUuid(value),
  timestamp: (value) =>
    typeof value === 'string' && TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value)),
}

export function decodeCursor(
  cursor: string | undefined,
  shape: readonly CursorField[],
): unknown[] | undefined {
  if (cursor === undefined) return undefined
  let position: unknown
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    position = undefined
  }
  const valid =
    Array.isArray(position) &&
    position.length === shape.length &&
    position.every((value, index) => FIELD_CHECKS[shape[index]!](value))
  if (!valid) {
    throw new ValidationError('cursor is invalid', [
      { path: 'querystring/cursor', message: 'is not a cursor this API gave out' },
    ])
  }
  return position as unknown[]
}

/** Turns `limit + 1` fetched rows into a page: the extra row only says that there is a next page. */
export function toPage<Row, T>(
  rows: Row[],
  limit: number,
  map: (row: Row) => T,
  positionOf: (row: Row) => (string | number)[],
): Page<T> {
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]
  return {
    items: items.map(map),
    nextCursor: rows.length > limit && last ? encodeCursor(positionOf(last)) : null,
  }
}
