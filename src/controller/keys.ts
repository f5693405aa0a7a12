import { isCanonicalUuid } from '../model/ids.js'
import { KINDS } from '../model/kinds.js'

/**
 * What the work queue reconciles: the resource kinds, and `Routes`, the proxy configuration of the
 * whole installation (one object, whose key carries the nil UUID).
 */
export const CONTROLLER_KINDS = [...KINDS, 'Routes'] as const
export type ControllerKind = (typeof CONTROLLER_KINDS)[number]

/** Work-queue keys are `Kind/id`: they name an object, never an event (controller-runtime's Request). */
export interface ObjectKey {
  kind: ControllerKind
  id: string
}

/** The key of the installation's routes. */
export const ROUTES_KEY: ObjectKey = { kind: 'Routes', id: '00000000-0000-0000-0000-000000000000' }

export function formatKey({ kind, id }: ObjectKey): string {
  return `${kind}/${id}`
}

/** The key's kind and id, or undefined when it is not a well-formed key. */
export function parseKey(key: string): ObjectKey | undefined {
  const slash = key.indexOf('/')
  const kind = key.slice(0, slash) as ControllerKind
  const id = key.slice(slash + 1)
  if (slash < 0 || !CONTROLLER_KINDS.includes(kind)) return undefined
  if (kind === 'Routes' ? id !== ROUTES_KEY.id : !isCanonicalUuid(id)) return undefined
  return { kind, id }
}
