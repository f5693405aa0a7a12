/** Work-queue keys are `Kind/id` (DESIGN.md section 4): they name an object, never an event. */
import { KINDS, type Kind } from '../kinds.js'

export { KINDS, type Kind }

export interface ObjectKey {
  kind: Kind
  id: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function formatKey({ kind, id }: ObjectKey): string {
  return `${kind}/${id}`
}

/** The key's kind and id, or undefined when it is not a well-formed key (e.g. a bad NOTIFY payload). */
export function parseKey(key: string): ObjectKey | undefined {
  const slash = key.indexOf('/')
  const kind = key.slice(0, slash)
  const id = key.slice(slash + 1)
  if (slash < 0 || !(KINDS as readonly string[]).includes(kind) || !UUID.test(id)) return undefined
  return { kind: kind as Kind, id }
}
