import { prepared, type Pool, type PoolClient } from './pool.js'
import type { Spec } from './projects.js'

/** What the deployment reconciler reads of a revision. */
export interface BuildState {
  id: string
  projectId: string
  projectName: string
  environmentId: string
  revision: number
  generation: number
  spec: Spec
  status: Spec
  cancelRequested: boolean
  /** The project's registry credentials (passwords sealed). */
  registries: Array<{ server: string; username: string; password?: string }>
}

interface BuildRow {
  id: string
  project_id: string
  project_name: string
  environment_id: string
  revision: number
  generation: string
  spec: Spec
  status: Spec
  cancel_requested: boolean
  registries: BuildState['registries'] | null
}

export async function readBuildState(pool: Pool, id: string): Promise<BuildState | undefined> {
  const { rows } = await pool.query<BuildRow>(
    prepared(
      `select d.id, d.project_id, p.name as project_name, d.environment_id, d.revision, d.generation, d.spec, d.status,
              d.cancel_requested_at is not null as cancel_requested, p.spec->'registries' as registries
         from deployments d join projects p on p.id = d.project_id where d.id = $1`,
      [id],
    ),
  )
  const row = rows[0]
  return (
    row && {
      id: row.id,
      projectId: row.project_id,
      projectName: row.project_name,
      environmentId: row.environment_id,
      revision: row.revision,
      generation: Number(row.generation),
      spec: row.spec,
      status: row.status,
      cancelRequested: row.cancel_requested,
      registries: row.registries ?? [],
    }
  )
}

/** Merges fields into a revision's status (controller only: no generation bump, no notify). */
export async function mergeDeploymentStatus(pool: Pool | PoolClient, id: string, patch: Spec): Promise<void> {
  await pool.query(prepared('update deployments set status = status || $2::jsonb where id = $1', [id, patch]))
}

/**
 * Marks a revision Building, unless it has meanwhile been settled (superseded, cancelled) while it
 * waited for a build slot. Says whether the build should go ahead.
 */
export async function startBuilding(pool: Pool, id: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    prepared(
      `update deployments set status = status || jsonb_build_object('phase', 'Building', 'buildStartedAt', now())
        where id = $1 and coalesce(status->>'phase', 'Queued') in ('Queued', 'Building')`,
      [id],
    ),
  )
  return rowCount === 1
}

export async function isCancelRequested(pool: Pool, id: string): Promise<boolean> {
  const { rows } = await pool.query<{ cancelled: boolean }>(
    prepared('select cancel_requested_at is not null as cancelled from deployments where id = $1', [id]),
  )
  return rows[0]?.cancelled ?? false
}

/** Records on the project what detection found in its source (controller only; status, no notify). */
export async function recordDetectedFramework(
  pool: Pool,
  projectId: string,
  framework: string,
): Promise<void> {
  await pool.query(
    prepared(
      `update projects set status = status || jsonb_build_object('detectedFramework', $2::text)
        where id = $1 and (status->>'detectedFramework') is distinct from $2`,
      [projectId, framework],
    ),
  )
}
