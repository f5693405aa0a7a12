import { prepared, type Pool } from './pool.js'
import type { Spec } from './projects.js'

/** What the environment reconciler reads: the environment, its project, and its recent revisions. */
export interface RolloutState {
  environment: {
    id: string
    name: string
    generation: number
    spec: Spec
    status: Spec
    deleting: boolean
  }
  project: { id: string; name: string }
  revisions: Array<{ id: string; revision: number; spec: Spec; status: Spec; cancelRequested: boolean }>
}

// Enough history for the target, the active revision and the one before it.
const REVISIONS_READ = 25

export async function readRolloutState(pool: Pool, environmentId: string): Promise<RolloutState | undefined> {
  const { rows } = await pool.query(
    prepared(
      `select e.id, e.name, e.generation, e.spec, e.status, e.deletion_requested_at is not null as deleting,
              p.id as project_id, p.name as project_name
         from environments e join projects p on p.id = e.project_id where e.id = $1`,
      [environmentId],
    ),
  )
  const row = rows[0]
  if (!row) return undefined
  const revisions = await pool.query(
    prepared(
      `select id, revision, spec, status, cancel_requested_at is not null as cancel_requested
         from deployments where environment_id = $1 order by revision desc limit ${REVISIONS_READ}`,
      [environmentId],
    ),
  )
  return {
    environment: {
      id: row.id,
      name: row.name,
      generation: Number(row.generation),
      spec: row.spec,
      status: row.status,
      deleting: row.deleting,
    },
    project: { id: row.project_id, name: row.project_name },
    revisions: revisions.rows.map((r) => ({
      id: r.id,
      revision: r.revision,
      spec: r.spec,
      status: r.status,
      cancelRequested: r.cancel_requested,
    })),
  }
}

/** Replaces an environment's status (controller only: no generation bump, no notify). */
export async function writeEnvironmentStatus(pool: Pool, id: string, status: Spec): Promise<void> {
  await pool.query(prepared('update environments set status = $2 where id = $1', [id, status]))
}
