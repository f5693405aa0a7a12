import { isCanonicalUuid } from '../model/ids.js'
import { isKind, type Kind } from '../model/kinds.js'

/** Work-queue keys are `Kind/id`: they name an object, never an event (controller-runtime's Request). */
export interface ObjectKey {
  kind: Kind
  id: string
}

export function formatKey({ kind, id }: ObjectKey): string {
  return `${kind}/${id}`
}

/** The key's kind and id, or undefined when it is not a well-formed key. */
export function parseKey(key: string): ObjectKey | undefined {
  const slash = key.indexOf('/')
  const kind = key.slice(0, slash)
  const id = key.slice(slash + 1)
  if (slash < 0 || !isKind(kind) || !isCanonicalUuid(id)) return undefined
  return { kind, id }
}
