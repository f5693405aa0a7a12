import type { Kind } from '../kinds.js'
import { prepared, type Pool } from './pool.js'

/**
 * Every key the controller must look at (the resync): all projects and environments (including those
 * being deleted, whose teardown is the controller's job) and every revision not yet finished. One query
 * per kind; the partial index on live deployments keeps the last one cheap.
 */
export async function listLiveObjects(pool: Pool): Promise<Array<{ kind: Kind; id: string }>> {
  const [projects, environments, deployments] = await Promise.all([
    pool.query<{ id: string }>(prepared('select id from projects', [])),
    pool.query<{ id: string }>(prepared('select id from environments', [])),
    pool.query<{ id: string }>(
      prepared(
        `select id from deployments where phase is null or phase not in ('Active', 'Superseded', 'Failed', 'Cancelled')`,
        [],
      ),
    ),
  ])
  const of = (kind: Kind, rows: Array<{ id: string }>) => rows.map(({ id }) => ({ kind, id }))
  return [
    ...of('Project', projects.rows),
    ...of('Environment', environments.rows),
    ...of('Deployment', deployments.rows),
  ]
}

const TABLES: Record<Kind, string> = {
  Project: 'projects',
  Environment: 'environments',
  Deployment: 'deployments',
}

/**
 * Records that the controller acted on `generation` (status only: no generation bump, no notify). A
 * write for an older generation than the row's is skipped, so a slow reconcile cannot go backwards.
 */
export async function setObservedGeneration(
  pool: Pool,
  kind: Kind,
  id: string,
  generation: number,
): Promise<void> {
  await pool.query(
    prepared(
      `update ${TABLES[kind]} set status = status || jsonb_build_object('observedGeneration', $2::bigint)
        where id = $1 and generation = $2 and (status->>'observedGeneration') is distinct from $2::text`,
      [id, generation],
    ),
  )
}

/** Second phase of deletion: the row goes once its Docker objects are gone (children cascade). */
export async function removeDeleted(pool: Pool, kind: Kind, id: string): Promise<void> {
  await pool.query(
    prepared(`delete from ${TABLES[kind]} where id = $1 and deletion_requested_at is not null`, [id]),
  )
}
