import { conflictOnDuplicate } from './errors.js'
import { isUuid } from '../model/ids.js'
import { decodeCursor, toPage, type Page } from './pagination.js'
import { prepared, type Pool, type PoolClient } from './pool.js'
import { BUILDING_PHASES, type DeploymentPhase } from '../model/phases.js'
import type { DeploymentStatus, RegistryCredentials, RevisionSpec } from '../model/specs.js'

type Db = Pool | PoolClient

export interface Trigger {
  type: 'api' | 'apply' | 'rollback' | 'webhook'
  by: string
}

export interface Deployment {
  id: string
  projectId: string
  projectName: string
  environmentId: string
  environmentName: string
  name: string | null
  revision: number
  trigger: Trigger
  spec: RevisionSpec
  generation: number
  status: DeploymentStatus
  cancelRequestedAt: Date | null
  createdAt: Date
  updatedAt: Date
  /** Grows with every change of the row (spec or status): what a watch resumes from. */
  resourceVersion: number
}

interface DeploymentRow {
  id: string
  project_id: string
  project_name: string
  environment_id: string
  environment_name: string
  name: string | null
  revision: number
  trigger: Trigger
  spec: RevisionSpec
  generation: string
  status: DeploymentStatus
  cancel_requested_at: Date | null
  created_at: Date
  created_at_text: string
  updated_at: Date
  resource_version: string
}

const fields = `d.id, d.project_id, p.name as project_name, d.environment_id, e.name as environment_name, d.name,
  d.revision, d.trigger, d.spec, d.generation, d.status, d.cancel_requested_at, d.created_at, d.updated_at,
  d.created_at::text as created_at_text, d.resource_version`
const select = `select ${fields} from deployments d join environments e on e.id = d.environment_id
  join projects p on p.id = d.project_id`

function toDeployment(row: DeploymentRow): Deployment {
  return {
    id: row.id,
    projectId: row.project_id,
    projectName: row.project_name,
    environmentId: row.environment_id,
    environmentName: row.environment_name,
    name: row.name,
    revision: row.revision,
    trigger: row.trigger,
    spec: row.spec,
    generation: Number(row.generation),
    status: row.status,
    cancelRequestedAt: row.cancel_requested_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    resourceVersion: Number(row.resource_version),
  }
}

/**
 * Inserts the next revision of an environment in one statement: the number is taken from the
 * environment row, whose lock then holds until commit, so concurrent deploys get consecutive numbers
 * with no gap. Its initial status (Queued) is written here, once: from then on only the controller
 * writes status.
 */
export async function insertNextRevision(
  db: Db,
  deployment: {
    projectId: string
    environmentId: string
    name?: string
    trigger: Trigger
    spec: RevisionSpec
  },
): Promise<Deployment> {
  const insert = db.query<DeploymentRow>(
    `with r as (
       update environments set latest_revision = latest_revision + 1 where id = $2 returning latest_revision
     ), d as (
       insert into deployments (project_id, environment_id, revision, name, trigger, spec, status)
       select $1, $2, r.latest_revision, $3, $4, $5, jsonb_build_object('phase', 'Queued', 'queuedAt', now()) from r
       returning *
     )
     select ${fields} from d join environments e on e.id = d.environment_id join projects p on p.id = d.project_id`,
    [
      deployment.projectId,
      deployment.environmentId,
      deployment.name ?? null,
      deployment.trigger,
      deployment.spec,
    ],
  )
  const message = `deployment ${deployment.name ?? ''} already exists`
  const { rows } = await conflictOnDuplicate(insert, message, 'GILGAL_DEPLOYMENT_EXISTS')
  return toDeployment(rows[0]!)
}

/** A deployment by id, whoever's: for a watch whose owner was checked when it began. */
export async function findDeployment(db: Db, id: string): Promise<Deployment | undefined> {
  const { rows } = await db.query<DeploymentRow>(prepared(`${select} where d.id = $1`, [id]))
  return rows[0] && toDeployment(rows[0])
}

/** A deployment of one of the owner's projects, by id. */
export async function findOwnedDeployment(
  db: Db,
  ownerId: string,
  id: string,
  forUpdate = false,
): Promise<Deployment | undefined> {
  if (!isUuid(id)) return undefined
  const lock = forUpdate ? 'for update of d' : ''
  const { rows } = await db.query<DeploymentRow>(
    prepared(`${select} where d.id = $1 and p.owner_id = $2 ${lock}`, [id, ownerId]),
  )
  return rows[0] && toDeployment(rows[0])
}

/** Revision `revision` of an environment (already owner-checked). */
export async function findRevision(
  db: Db,
  environmentId: string,
  revision: number,
): Promise<Deployment | undefined> {
  const { rows } = await db.query<DeploymentRow>(
    prepared(`${select} where d.environment_id = $1 and d.revision = $2`, [environmentId, revision]),
  )
  return rows[0] && toDeployment(rows[0])
}

export async function findDeploymentByName(
  db: Db,
  environmentId: string,
  name: string,
): Promise<Deployment | undefined> {
  const { rows } = await db.query<DeploymentRow>(`${select} where d.environment_id = $1 and d.name = $2`, [
    environmentId,
    name,
  ])
  return rows[0] && toDeployment(rows[0])
}

export interface DeploymentFilter {
  projectId: string
  environmentId?: string
  phase?: DeploymentPhase
  limit: number
  cursor?: string
}

/** Newest first. */
export async function listDeployments(db: Db, filter: DeploymentFilter): Promise<Page<Deployment>> {
  const after = decodeCursor(filter.cursor, ['timestamp', 'int', 'uuid'])
  const { rows } = await db.query<DeploymentRow>(
    prepared(
      `${select} where d.project_id = $1 and ($2::uuid is null or d.environment_id = $2) and ($3::text is null or d.phase = $3)
       and ($4::timestamptz is null or (d.created_at, d.revision, d.id) < ($4, $5::int, $6::uuid))
     order by d.created_at desc, d.revision desc, d.id desc limit $7`,
      [
        filter.projectId,
        filter.environmentId ?? null,
        filter.phase ?? null,
        after?.[0] ?? null,
        after?.[1] ?? null,
        after?.[2] ?? null,
        filter.limit + 1,
      ],
    ),
  )
  // created_at goes into the cursor as PostgreSQL's text, which keeps the microseconds a Date drops.
  return toPage(rows, filter.limit, toDeployment, (row) => [row.created_at_text, row.revision, row.id])
}

/** Records a cancel request (a new generation, so the controller wakes). Idempotent. */
export async function requestCancel(db: Db, id: string): Promise<Deployment> {
  const { rows } = await db.query<DeploymentRow>(
    `with d as (
       update deployments set cancel_requested_at = coalesce(cancel_requested_at, now()) where id = $1 returning *
     )
     select ${fields} from d join environments e on e.id = d.environment_id join projects p on p.id = d.project_id`,
    [id],
  )
  return toDeployment(rows[0]!)
}

/** What the deployment reconciler reads of a revision, with its project's name and registry credentials. */
export interface BuildState {
  id: string
  projectId: string
  projectName: string
  environmentId: string
  revision: number
  generation: number
  spec: RevisionSpec
  status: DeploymentStatus
  cancelRequested: boolean
  /** The project's registry credentials (passwords sealed). */
  registries: RegistryCredentials[]
  /** The status of the revision its environment runs now, if any. */
  activeStatus?: DeploymentStatus
}

interface BuildRow {
  id: string
  project_id: string
  project_name: string
  environment_id: string
  revision: number
  generation: string
  spec: RevisionSpec
  status: DeploymentStatus
  cancel_requested: boolean
  registries: RegistryCredentials[] | null
  active_status: DeploymentStatus | null
}

export async function readBuildState(pool: Pool, id: string): Promise<BuildState | undefined> {
  const { rows } = await pool.query<BuildRow>(
    prepared(
      `select d.id, d.project_id, p.name as project_name, d.environment_id, d.revision, d.generation, d.spec, d.status,
              d.cancel_requested_at is not null as cancel_requested, p.spec->'registries' as registries,
              (select a.status from deployments a where a.environment_id = d.environment_id and a.phase = 'Active'
                limit 1) as active_status
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
      activeStatus: row.active_status ?? undefined,
    }
  )
}

/** Merges fields into a revision's status (controller only: no generation bump, no notify). */
export async function mergeDeploymentStatus(db: Db, id: string, patch: DeploymentStatus): Promise<void> {
  await db.query(prepared('update deployments set status = status || $2::jsonb where id = $1', [id, patch]))
}

/**
 * Marks a revision Building, unless it has meanwhile been settled (superseded, cancelled) while it
 * waited for a build slot. Says whether the build should go ahead.
 */
export async function startBuilding(pool: Pool, id: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    prepared(
      `update deployments set status = status || jsonb_build_object('phase', 'Building', 'buildStartedAt', now())
        where id = $1 and coalesce(status->>'phase', 'Queued') = any($2)`,
      [id, BUILDING_PHASES],
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
