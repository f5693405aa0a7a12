import { isDeepStrictEqual } from 'node:util'

export interface Change {
  path: string
  op: 'add' | 'remove' | 'replace'
  before?: unknown
  after?: unknown
  /** Set for write-only values: the change is reported, the values never are. */
  secret?: true
}

type Tree = Record<string, unknown>

const isObject = (value: unknown): value is Tree =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Field-level differences between two specs, as JSON pointers. Objects are compared key by key,
 * arrays and scalars as a whole. Paths under a `secretPaths` prefix report the change only.
 */
export function diffSpecs(
  before: Tree | undefined,
  after: Tree,
  secretPaths: readonly string[] = [],
): Change[] {
  const changes: Change[] = []
  walk(before ?? {}, after, '/spec', changes)
  return changes.map((change) =>
    secretPaths.some((prefix) => change.path.startsWith(`${prefix}/`)) ? hideValues(change) : change,
  )
}

function walk(before: unknown, after: unknown, path: string, changes: Change[]): void {
  if (isDeepStrictEqual(before, after)) return
  if (isObject(before) && isObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      walk(before[key], after[key], `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, changes)
    }
    return
  }
  if (before === undefined) changes.push({ path, op: 'add', after })
  else if (after === undefined) changes.push({ path, op: 'remove', before })
  else changes.push({ path, op: 'replace', before, after })
}

function hideValues(change: Change): Change {
  return { path: change.path, op: change.op, secret: true }
}
