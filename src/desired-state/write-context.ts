import type { SecretKey } from '../config/secrets.js'
import { ConflictError } from '../errors.js'
import type { ReservedHostnames } from '../model/hostnames.js'
import type { Kind } from '../model/kinds.js'
import type { Trigger } from '../store/deployments.js'
import { insertEvents, type NewEvent } from '../store/events.js'
import type { PoolClient } from '../store/pool.js'

/** One write, inside one transaction, on behalf of one user. */
export interface WriteContext {
  client: PoolClient
  ownerId: string
  /** Who, for events and triggers: the username (and API key name when one was used). */
  actor: string
  /** How revisions created by this write are labelled. */
  triggerType: Trigger['type']
  /** Seal write-only values (secretEnv, registry passwords) before they are stored. */
  secretKeys: readonly SecretKey[]
  /** Names no environment may claim as a domain (the base domain and the API's host). */
  reservedHostnames: ReservedHostnames
  /** Events of this write, inserted together by `flushEvents` before the transaction commits. */
  events: NewEvent[]
}

/** Queues an API event about an object; messages name fields, never secret values. */
export function recordEvent(
  ctx: WriteContext,
  projectId: string,
  object: { kind: Kind; id: string; name: string },
  reason: string,
  message: string,
): void {
  ctx.events.push({ projectId, object, type: 'Normal', reason, message, source: 'api', actor: ctx.actor })
}

/** Writes the queued events (one statement); call last, inside the write's transaction. */
export async function flushEvents(ctx: WriteContext): Promise<void> {
  await insertEvents(ctx.client, ctx.events.splice(0))
}

/** Objects being deleted take no more changes: the controller is tearing them down. */
export function assertNotDeleting(object: { name: string; deletionRequestedAt: Date | null }): void {
  if (object.deletionRequestedAt)
    throw new ConflictError(`${object.name} is being deleted`, 'GILGAL_BEING_DELETED')
}
