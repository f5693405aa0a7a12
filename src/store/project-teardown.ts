import { prepared, type Pool } from './pool.js'

export interface ProjectRow {
  id: string
  name: string
  generation: number
  deleting: boolean
  observedGeneration: number | null
}

export async function readProject(pool: Pool, id: string): Promise<ProjectRow | undefined> {
  const { rows } = await pool.query(
    prepared(
      `select id, name, generation, deletion_requested_at is not null as deleting,
              (status->>'observedGeneration')::bigint as observed from projects where id = $1`,
      [id],
    ),
  )
  const row = rows[0]
  return (
    row && {
      id: row.id,
      name: row.name,
      generation: Number(row.generation),
      deleting: row.deleting,
      observedGeneration: row.observed === null ? null : Number(row.observed),
    }
  )
}

/**
 * A project being deleted takes its environments with it, each through its own teardown (its
 * containers go first): requests their deletion and says how many remain.
 */
export async function requestEnvironmentDeletions(pool: Pool, projectId: string): Promise<number> {
  await pool.query(
    `update environments set deletion_requested_at = now()
      where project_id = $1 and deletion_requested_at is null`,
    [projectId],
  )
  const { rows } = await pool.query<{ count: string }>(
    'select count(*) from environments where project_id = $1',
    [projectId],
  )
  return Number(rows[0]!.count)
}
