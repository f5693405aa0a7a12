import type { ObjectKey } from '../../src/controller/keys.js'
import type { ReconcileContext } from '../../src/controller/reconciler.js'
import { createLogger } from '../../src/log.js'

/** Tests only: what the controller hands a reconcile, keeping the keys it asks to enqueue. */
export function reconcileContext(): ReconcileContext & { enqueued: ObjectKey[] } {
  const enqueued: ObjectKey[] = []
  return { reconcileId: 'test', log: createLogger('silent'), enqueue: (key) => enqueued.push(key), enqueued }
}
