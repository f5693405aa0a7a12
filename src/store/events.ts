import { decodeCursor, toPage, type Page } from './pagination.js'
import { prepared, type Pool, type PoolClient } from './pool.js'

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

/**
 * Records what happened (like `kubectl get events`), all of one write's events in one statement.
 * Callers never put secret values in `message`.
 */
export async function insertEvents(db: Db, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return
  const column = <T>(pick: (event: NewEvent) => T) => events.map(pick)
  await db.query(
    prepared(
      `insert into events (project_id, object_kind, object_id, object_name, type, reason, message, source, actor)
       select * from unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])`,
      [
        column((e) => e.projectId),
        column((e) => e.object.kind),
        column((e) => e.object.id),
        column((e) => e.object.name),
        column((e) => e.type),
        column((e) => e.reason),
        column((e) => e.message),
        column((e) => e.source),
        column((e) => e.actor),
      ],
    ),
  )
}

/** Newest first. */
export async function listEvents(
  db: Db,
  projectId: string,
  limit: number,
  cursor?: string,
): Promise<Page<GilgalEvent>> {
  const after = decodeCursor(cursor, ['int'])
  const { rows } = await db.query<EventRow>(
    `select * from events where project_id = $1 and ($2::bigint is null or id < $2) order by id desc limit $3`,
    [projectId, after?.[0] ?? null, limit + 1],
  )
  return toPage(rows, limit, toEvent, (row) => [Number(row.id)])
}
