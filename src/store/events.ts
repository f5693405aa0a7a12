import { decodeCursor, toPage, type Page } from './pagination.js'
import type { Pool, PoolClient } from './pool.js'

type Db = Pool | PoolClient

export interface GilgalEvent {
  id: number
  projectId: string | null
  object: { kind: string; id: string | null; name: string | null }
  type: 'Normal' | 'Warning'
  reason: string
  message: string
  source: 'api' | 'controller'
  actor: string | null
  createdAt: Date
}

export type NewEvent = Omit<GilgalEvent, 'id' | 'createdAt'>

interface EventRow {
  id: string
  project_id: string | null
  object_kind: string
  object_id: string | null
  object_name: string | null
  type: 'Normal' | 'Warning'
  reason: string
  message: string
  source: 'api' | 'controller'
  actor: string | null
  created_at: Date
}

function toEvent(row: EventRow): GilgalEvent {
  return {
    id: Number(row.id),
    projectId: row.project_id,
    object: { kind: row.object_kind, id: row.object_id, name: row.object_name },
    type: row.type,
    reason: row.reason,
    message: row.message,
    source: row.source,
    actor: row.actor,
    createdAt: row.created_at,
  }
}

/** Records what happened (like `kubectl get events`). Callers never put secret values in `message`. */
export async function insertEvent(db: Db, event: NewEvent): Promise<void> {
  await db.query(
    `insert into events (project_id, object_kind, object_id, object_name, type, reason, message, source, actor)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      event.projectId,
      event.object.kind,
      event.object.id,
      event.object.name,
      event.type,
      event.reason,
      event.message,
      event.source,
      event.actor,
    ],
  )
}

/** Newest first. */
export async function listEvents(
  db: Db,
  projectId: string,
  limit: number,
  cursor?: string,
): Promise<Page<GilgalEvent>> {
  const after = decodeCursor(cursor, ['number'])
  const { rows } = await db.query<EventRow>(
    `select * from events where project_id = $1 and ($2::bigint is null or id < $2) order by id desc limit $3`,
    [projectId, after?.[0] ?? null, limit + 1],
  )
  return toPage(rows, limit, toEvent, (row) => [Number(row.id)])
}
