import type { Kind } from '../kinds.js'
import { readObjectState, removeDeleted, setObservedGeneration } from '../store/controller.js'
import type { Pool } from '../store/pool.js'
import type { Reconciler } from './reconciler.js'

/**
 * The placeholder reconciler of a kind until its real one lands (builds, rollouts): it acts on nothing
 * in Docker, records `status.observedGeneration`, and completes a requested deletion (there is nothing
 * to tear down yet). It makes the loop observable end to end: write → notify → queue → status.
 */
export function createStatusReconciler(pool: Pool, kind: Kind): Reconciler {
  return {
    async reconcile(key) {
      const id = key.slice(key.indexOf('/') + 1)
      const state = await readObjectState(pool, kind, id)
      if (!state) return {}
      if (state.deletionRequested) await removeDeleted(pool, kind, id)
      else if (state.observedGeneration !== state.generation)
        await setObservedGeneration(pool, kind, id, state.generation)
      return {}
    },
  }
}
