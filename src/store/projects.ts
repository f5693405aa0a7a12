import { conflictOnDuplicate } from './errors.js'
import { decodeCursor, isUuid, toPage, type Page } from './pagination.js'
import { prepared, type Pool, type PoolClient } from './pool.js'

type Db = Pool | PoolClient
export type Spec = Record<string, unknown>

export interface Project {
  id: string
  ownerId: string
  name: string
  labels: Record<string, string>
  spec: Spec
  generation: number
  status: Spec
  createdAt: Date
  updatedAt: Date
  deletionRequestedAt: Date | null
}

interface ProjectRow {
  id: string
  owner_id: string
  name: string
  labels: Record<string, string>
  spec: Spec
  generation: string
  status: Spec
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
  project: { ownerId: string; name: string; labels: Record<string, string>; spec: Spec },
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
  changes: { spec: Spec; labels: Record<string, string> },
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
