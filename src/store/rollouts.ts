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
      // The newest revisions, and whatever serves (or served before it) however old: a run of failed
      // deploys must never push the active revision out of sight.
      `with recent as (
         select id from deployments where environment_id = $1 order by revision desc limit ${REVISIONS_READ}
       ), serving as (
         select id, status->>'previousDeployment' as previous from deployments
          where environment_id = $1 and status->>'phase' in ('Active', 'Deploying')
       )
       select id, revision, spec, status, cancel_requested_at is not null as cancel_requested
         from deployments
        where environment_id = $1
          and (id in (select id from recent) or id in (select id from serving)
               or id::text in (select previous from serving where previous is not null))
        order by revision desc`,
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
