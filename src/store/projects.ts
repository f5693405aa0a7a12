import type { ProjectSpec, ProjectStatus } from '../model/specs.js'
import { conflictOnDuplicate } from './errors.js'
import { isUuid } from '../model/ids.js'
import { decodeCursor, toPage, type Page } from './pagination.js'
import { prepared, type Pool, type PoolClient } from './pool.js'

type Db = Pool | PoolClient

export interface Project {
  id: string
  ownerId: string
  name: string
  labels: Record<string, string>
  spec: ProjectSpec
  generation: number
  status: ProjectStatus
  createdAt: Date
  updatedAt: Date
  deletionRequestedAt: Date | null
}

interface ProjectRow {
  id: string
  owner_id: string
  name: string
  labels: Record<string, string>
  spec: ProjectSpec
  generation: string
  status: ProjectStatus
  created_at: Date
  updated_at: Date
  deletion_requested_at: Date | null
}

const columns =
  'id, owner_id, name, labels, spec, generation, status, created_at, updated_at, deletion_requested_at'

function toProject(row: ProjectRow): Project {
  return {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    labels: row.labels,
    spec: row.spec,
    generation: Number(row.generation),
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletionRequestedAt: row.deletion_requested_at,
  }
}

export async function insertProject(
  db: Db,
  project: { ownerId: string; name: string; labels: Record<string, string>; spec: ProjectSpec },
): Promise<Project> {
  const insert = db.query<ProjectRow>(
    `insert into projects (owner_id, name, labels, spec) values ($1, $2, $3, $4) returning ${columns}`,
    [project.ownerId, project.name, project.labels, project.spec],
  )
  const { rows } = await conflictOnDuplicate(
    insert,
    `project ${project.name} already exists`,
    'GILGAL_PROJECT_EXISTS',
  )
  return toProject(rows[0]!)
}

/** The owner's project by id or name; `forUpdate` locks the row for the rest of the transaction. */
export async function findProject(
  db: Db,
  ownerId: string,
  idOrName: string,
  forUpdate = false,
): Promise<Project | undefined> {
  const by = isUuid(idOrName) ? 'id' : 'name'
  const { rows } = await db.query<ProjectRow>(
    prepared(
      `select ${columns} from projects where owner_id = $1 and ${by} = $2 ${forUpdate ? 'for update' : ''}`,
      [ownerId, idOrName],
    ),
  )
  return rows[0] && toProject(rows[0])
}

export async function listProjects(
  db: Db,
  ownerId: string,
  limit: number,
  cursor?: string,
): Promise<Page<Project>> {
  const after = decodeCursor(cursor, ['text'])
  const { rows } = await db.query<ProjectRow>(
    prepared(
      `select ${columns} from projects where owner_id = $1 and ($2::text is null or name > $2) order by name limit $3`,
      [ownerId, after?.[0] ?? null, limit + 1],
    ),
  )
  return toPage(rows, limit, toProject, (row) => [row.name])
}

/** Writes spec and labels; generation moves only if the spec really changed (trigger). */
export async function updateProject(
  db: Db,
  id: string,
  changes: { spec: ProjectSpec; labels: Record<string, string> },
): Promise<Project> {
  const { rows } = await db.query<ProjectRow>(
    `update projects set spec = $2, labels = $3 where id = $1 returning ${columns}`,
    [id, changes.spec, changes.labels],
  )
  return toProject(rows[0]!)
}

/** First phase of deletion: the controller tears down, then removes the row. Idempotent. */
export async function requestProjectDeletion(db: Db, id: string): Promise<Project> {
  const { rows } = await db.query<ProjectRow>(
    `update projects set deletion_requested_at = coalesce(deletion_requested_at, now()) where id = $1 returning ${columns}`,
    [id],
  )
  return toProject(rows[0]!)
}

/** What the project reconciler needs of a project, whoever owns it. */
export interface ProjectState {
  id: string
  name: string
  generation: number
  deleting: boolean
  observedGeneration: number | null
}

export async function readProjectState(pool: Pool, id: string): Promise<ProjectState | undefined> {
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
