import { conflictOnDuplicate } from './errors.js'
import { isUuid } from '../model/ids.js'
import { decodeCursor, toPage, type Page } from './pagination.js'
import { prepared, type Pool, type PoolClient } from './pool.js'
import { RUNNING_PHASES } from '../model/phases.js'
import type { DeploymentStatus, EnvironmentSpec, EnvironmentStatus, RevisionSpec } from '../model/specs.js'

type Db = Pool | PoolClient

export interface Environment {
  id: string
  projectId: string
  projectName: string
  name: string
  labels: Record<string, string>
  spec: EnvironmentSpec
  generation: number
  status: EnvironmentStatus
  latestRevision: number
  createdAt: Date
  updatedAt: Date
  deletionRequestedAt: Date | null
  /** The domains it holds, with what the last certificate check found (status.domains). */
  domains: DomainStatus[]
  /** Grows with every change of the row (spec or status): what a watch resumes from. */
  resourceVersion: number
}

export interface DomainStatus {
  hostname: string
  certificate?: 'Ready' | 'NotReady'
  message?: string
  checkedAt?: string
}

interface EnvironmentRow {
  id: string
  project_id: string
  project_name: string
  name: string
  labels: Record<string, string>
  spec: EnvironmentSpec
  generation: string
  status: EnvironmentStatus
  latest_revision: number
  created_at: Date
  updated_at: Date
  deletion_requested_at: Date | null
  domains: DomainStatus[]
  resource_version: string
}

const fields = `e.id, e.project_id, p.name as project_name, e.name, e.labels, e.spec, e.generation, e.status,
  e.latest_revision, e.created_at, e.updated_at, e.deletion_requested_at, e.resource_version,
  case when jsonb_array_length(coalesce(e.spec->'domains', '[]')) = 0 then '[]'::jsonb else
  (select coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('hostname', d.hostname,
     'certificate', d.certificate, 'message', d.certificate_message, 'checkedAt', d.checked_at))
     order by d.hostname), '[]') from environment_domains d where d.environment_id = e.id) end as domains`
// (An environment that lists no domain holds none: most skip the subquery.)
// Every read joins the project, so ownership is checked in the same statement that finds the row.
const select = `select ${fields} from environments e join projects p on p.id = e.project_id`
// Writes return the row as reads do, in the same round trip.
const returning = (write: string) =>
  `with e as (${write} returning *) select ${fields} from e join projects p on p.id = e.project_id`

function toEnvironment(row: EnvironmentRow): Environment {
  return {
    id: row.id,
    projectId: row.project_id,
    projectName: row.project_name,
    name: row.name,
    labels: row.labels,
    spec: row.spec,
    generation: Number(row.generation),
    status: row.status,
    latestRevision: row.latest_revision,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletionRequestedAt: row.deletion_requested_at,
    domains: row.domains,
    resourceVersion: Number(row.resource_version),
  }
}

export async function insertEnvironment(
  db: Db,
  environment: { projectId: string; name: string; labels: Record<string, string>; spec: EnvironmentSpec },
): Promise<Environment> {
  const insert = db.query<EnvironmentRow>(
    returning(`insert into environments (project_id, name, labels, spec, status)
      values ($1, $2, $3, $4, '{"phase":"Pending"}')`),
    [environment.projectId, environment.name, environment.labels, environment.spec],
  )
  const message = `environment ${environment.name} already exists`
  const { rows } = await conflictOnDuplicate(insert, message, 'GILGAL_ENVIRONMENT_EXISTS')
  return toEnvironment(rows[0]!)
}

/** An environment by id, whoever's: for a watch whose owner was checked when it began. */
export async function findEnvironment(db: Db, id: string): Promise<Environment | undefined> {
  const { rows } = await db.query<EnvironmentRow>(prepared(`${select} where e.id = $1`, [id]))
  return rows[0] && toEnvironment(rows[0])
}

/** An environment of one of the owner's projects, by id. */
export async function findOwnedEnvironment(
  db: Db,
  ownerId: string,
  id: string,
  forUpdate = false,
): Promise<Environment | undefined> {
  if (!isUuid(id)) return undefined
  const lock = forUpdate ? 'for update of e' : ''
  const { rows } = await db.query<EnvironmentRow>(
    prepared(`${select} where e.id = $1 and p.owner_id = $2 ${lock}`, [id, ownerId]),
  )
  return rows[0] && toEnvironment(rows[0])
}

/** An environment of a project (already owner-checked), by id or name. */
export async function findProjectEnvironment(
  db: Db,
  projectId: string,
  idOrName: string,
  forUpdate = false,
): Promise<Environment | undefined> {
  const by = isUuid(idOrName) ? 'e.id' : 'e.name'
  const lock = forUpdate ? 'for update of e' : ''
  const { rows } = await db.query<EnvironmentRow>(
    prepared(`${select} where e.project_id = $1 and ${by} = $2 ${lock}`, [projectId, idOrName]),
  )
  return rows[0] && toEnvironment(rows[0])
}

/**
 * One page of a project's environments, the project found by owner and id or name in the same
 * statement (one round trip: listing is the API's hottest read). Undefined when the owner has no
 * such project.
 */
export async function listEnvironments(
  db: Db,
  ownerId: string,
  projectIdOrName: string,
  limit: number,
  cursor?: string,
): Promise<Page<Environment> | undefined> {
  const after = decodeCursor(cursor, ['text'])
  const by = isUuid(projectIdOrName) ? 'p.id' : 'p.name'
  const { rows } = await db.query<EnvironmentRow & { found: string }>(
    prepared(
      `select p.id as found, p.name as project_name, e.* from projects p
       left join lateral (
         select id, project_id, name, labels, spec, generation, status, latest_revision, created_at, updated_at,
                deletion_requested_at
           from environments where project_id = p.id and ($3::text is null or name > $3) order by name limit $4
       ) e on true
      where p.owner_id = $1 and ${by} = $2`,
      [ownerId, projectIdOrName, after?.[0] ?? null, limit + 1],
    ),
  )
  if (rows.length === 0) return undefined
  return toPage(
    rows.filter((row) => row.id !== null),
    limit,
    toEnvironment,
    (row) => [row.name],
  )
}

/** Every live environment of a project (for prune). */
export async function listAllEnvironments(db: Db, projectId: string): Promise<Environment[]> {
  const { rows } = await db.query<EnvironmentRow>(
    `${select} where e.project_id = $1 and e.deletion_requested_at is null order by e.name`,
    [projectId],
  )
  return rows.map(toEnvironment)
}

export async function updateEnvironment(
  db: Db,
  id: string,
  changes: { spec: EnvironmentSpec; labels: Record<string, string> },
): Promise<Environment> {
  const { rows } = await db.query<EnvironmentRow>(
    returning('update environments set spec = $2, labels = $3 where id = $1'),
    [id, changes.spec, changes.labels],
  )
  return toEnvironment(rows[0]!)
}

export async function requestEnvironmentDeletion(db: Db, id: string): Promise<Environment> {
  const { rows } = await db.query<EnvironmentRow>(
    returning(
      'update environments set deletion_requested_at = coalesce(deletion_requested_at, now()) where id = $1',
    ),
    [id],
  )
  return toEnvironment(rows[0]!)
}

/**
 * A project being deleted takes its environments with it, each through its own teardown (its
 * containers go first): requests their deletion and says how many remain.
 */
export async function requestProjectEnvironmentsDeletion(pool: Pool, projectId: string): Promise<number> {
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

/** What the environment reconciler reads: the environment, its project, and its recent revisions. */
export interface RolloutState {
  environment: {
    id: string
    name: string
    generation: number
    spec: EnvironmentSpec
    status: EnvironmentStatus
    deleting: boolean
    /** The hostnames of `spec.domains` it holds (environment_domains): the only ones routed to it. */
    domains: string[]
  }
  project: { id: string; name: string }
  revisions: RevisionState[]
}

export interface RevisionState {
  id: string
  revision: number
  spec: RevisionSpec
  status: DeploymentStatus
  cancelRequested: boolean
}

/** The hostnames environment `e` holds, sorted: what routes and URLs are made of. */
export const CLAIMED_DOMAINS = `(select coalesce(array_agg(d.hostname order by d.hostname), '{}')
  from environment_domains d where d.environment_id = e.id)`

// Enough history for the target, the active revision and the one before it.
const REVISIONS_READ = 25

export async function readRolloutState(pool: Pool, environmentId: string): Promise<RolloutState | undefined> {
  const { rows } = await pool.query(
    prepared(
      `select e.id, e.name, e.generation, e.spec, e.status, e.deletion_requested_at is not null as deleting,
              p.id as project_id, p.name as project_name, ${CLAIMED_DOMAINS} as domains
         from environments e join projects p on p.id = e.project_id where e.id = $1`,
      [environmentId],
    ),
  )
  const row = rows[0]
  if (!row) return undefined
  const revisions = await pool.query(
    prepared(
      // The newest revisions, and whatever runs (or ran before it) however old: a run of failed
      // deploys must never push the active revision out of sight.
      `with recent as (
         select id from deployments where environment_id = $1 order by revision desc limit $2
       ), running as (
         select id, status->>'previousDeployment' as previous from deployments
          where environment_id = $1 and phase = any($3)
       )
       select id, revision, spec, status, cancel_requested_at is not null as cancel_requested
         from deployments
        where environment_id = $1
          and (id in (select id from recent) or id in (select id from running)
               or id::text in (select previous from running where previous is not null))
        order by revision desc`,
      [environmentId, REVISIONS_READ, RUNNING_PHASES],
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
      domains: row.domains,
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
export async function writeEnvironmentStatus(
  pool: Pool,
  id: string,
  status: EnvironmentStatus,
): Promise<void> {
  // A pass that changes nothing writes nothing: no new row version, no watch notification.
  await pool.query(
    prepared('update environments set status = $2 where id = $1 and status is distinct from $2', [
      id,
      status,
    ]),
  )
}
