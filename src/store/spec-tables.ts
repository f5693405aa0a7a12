import { escapeLiteral } from 'pg'
import type { Kind } from '../model/kinds.js'
import { BUILDING_PHASES, FINISHED_PHASES, RETIRED_PHASES } from '../model/phases.js'
import { prepared, type Pool, type PoolClient } from './pool.js'

/**
 * The three spec tables (projects, environments, deployments) as the controller sees them all:
 * what to reconcile, what it has acted on, what deletion removes, what keeps Docker objects alive.
 */

// A literal list, not a parameter: the planner uses the partial index deployments_live_idx only when
// the query's condition matches the index's predicate, which names these phases.
const UNFINISHED = `phase is null or phase not in (${FINISHED_PHASES.map(escapeLiteral).join(', ')})`

/**
 * Every key the controller must look at (the resync): all projects and environments (including those
 * being deleted, whose teardown is the controller's job) and every revision not yet finished. One query
 * per kind; the partial index on live deployments keeps the last one cheap.
 */
export async function listLiveObjects(pool: Pool): Promise<Array<{ kind: Kind; id: string }>> {
  const [projects, environments, deployments] = await Promise.all([
    pool.query<{ id: string }>(prepared('select id from projects', [])),
    pool.query<{ id: string }>(prepared('select id from environments', [])),
    pool.query<{ id: string }>(prepared(`select id from deployments where ${UNFINISHED}`, [])),
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

/** What may keep a Docker object alive: its owner rows, and the images recent revisions use. */
export interface LiveOwners {
  projectIds: Set<string>
  environmentIds: Set<string>
  /** Images of each environment's newest `revisionHistoryLimit` revisions, of any not retired, and of
   * the revision each Active one replaced. */
  keptImageIds: Set<string>
}

export async function readLiveOwners(pool: Pool): Promise<LiveOwners> {
  const [projects, environments, images] = await Promise.all([
    pool.query<{ id: string }>('select id from projects'),
    pool.query<{ id: string }>('select id from environments'),
    pool.query<{ image_id: string }>(
      `select distinct d.status->>'imageId' as image_id
         from deployments d join environments e on e.id = d.environment_id
        where d.status ? 'imageId'
          and (d.revision > e.latest_revision - coalesce((e.spec->'rollout'->>'revisionHistoryLimit')::int, 10)
               or coalesce(d.phase, 'Queued') <> all($1)
               -- the revision an Active one replaced: its stopped containers are the bake's way back
               or d.id::text in (select status->>'previousDeployment' from deployments
                                  where phase = 'Active'))`,
      [RETIRED_PHASES],
    ),
  ])
  return {
    projectIds: new Set(projects.rows.map((r) => r.id)),
    environmentIds: new Set(environments.rows.map((r) => r.id)),
    keptImageIds: new Set(images.rows.map((r) => r.image_id)),
  }
}

/** How many rows of `table` are in each of `phases` (zeros included); a row without one counts as `unset`. */
export async function countByPhase<Phase extends string>(
  pool: Pool,
  table: 'environments' | 'deployments',
  phases: readonly Phase[],
  unset: Phase,
): Promise<Map<Phase, number>> {
  const { rows } = await pool.query<{ phase: Phase; count: string }>(
    `select coalesce(phase, $1) as phase, count(*) from ${table} group by 1`,
    [unset],
  )
  const counts = new Map(phases.map((phase) => [phase, 0]))
  for (const row of rows) counts.set(row.phase, Number(row.count))
  return counts
}

/** What one owner's projects hold at once, measured against their quotas (model/limits.ts). */
export interface Usage {
  projects: number
  environments: number
  replicas: number
  builds: number
}

/** One statement; objects being deleted still count until they are gone. */
export async function readUsage(db: Pool | PoolClient, ownerId: string): Promise<Usage> {
  const { rows } = await db.query<{
    projects: string
    environments: string
    replicas: string
    builds: string
  }>(
    prepared(
      `select (select count(*) from projects where owner_id = $1) as projects,
              (select count(*) from environments e join projects p on p.id = e.project_id where p.owner_id = $1)
                as environments,
              (select coalesce(sum(coalesce((e.spec->>'replicas')::int, 1)), 0)
                 from environments e join projects p on p.id = e.project_id where p.owner_id = $1) as replicas,
              (select count(*) from deployments d join projects p on p.id = d.project_id
                where p.owner_id = $1 and coalesce(d.phase, 'Queued') = any($2)) as builds`,
      [ownerId, BUILDING_PHASES],
    ),
  )
  const row = rows[0]!
  return {
    projects: Number(row.projects),
    environments: Number(row.environments),
    replicas: Number(row.replicas),
    builds: Number(row.builds),
  }
}
