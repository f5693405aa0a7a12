import type { Reconciler } from '../../src/controller/reconciler.js'
import type { Kind } from '../../src/model/kinds.js'
import type { Pool } from '../../src/store/pool.js'
import { removeDeleted, setObservedGeneration } from '../../src/store/spec-tables.js'

const TABLES: Record<Kind, string> = {
  Project: 'projects',
  Environment: 'environments',
  Deployment: 'deployments',
}

/**
 * Tests only: a reconciler that acts on nothing in Docker. It records `status.observedGeneration` and
 * completes a requested deletion, which makes the controller loop observable end to end without an
 * engine: write → notify → queue → status.
 */
export function createStatusReconciler(pool: Pool, kind: Kind): Reconciler {
  return {
    async reconcile({ id }) {
      const { rows } = await pool.query<{ generation: string; deleting: boolean; observed: string | null }>(
        `select generation, deletion_requested_at is not null as deleting,
                status->>'observedGeneration' as observed
           from ${TABLES[kind]} where id = $1`,
        [id],
      )
      const row = rows[0]
      if (!row) return {}
      if (row.deleting) await removeDeleted(pool, kind, id)
      else if (row.observed !== row.generation)
        await setObservedGeneration(pool, kind, id, Number(row.generation))
      return {}
    },
  }
}
