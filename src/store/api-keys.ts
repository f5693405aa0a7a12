import { prepared, type Pool, type PoolClient } from './pool.js'

type Db = Pool | PoolClient

export type ApiKeyScope = 'read' | 'write'

export interface ApiKey {
  id: string
  userId: string
  name: string
  scope: ApiKeyScope
  prefix: string
  lastUsedAt: Date | null
  createdAt: Date
}

interface ApiKeyRow {
  id: string
  user_id: string
  name: string
  scope: ApiKeyScope
  key_prefix: string
  last_used_at: Date | null
  created_at: Date
}

const columns = 'id, user_id, name, scope, key_prefix, last_used_at, created_at'

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    scope: row.scope,
    prefix: row.key_prefix,
    lastUsedAt: row.last_used_at,
    createdAt: row.created_at,
  }
}

export async function insertApiKey(
  db: Db,
  key: { userId: string; name: string; scope: ApiKeyScope; keyHash: string; prefix: string },
): Promise<ApiKey> {
  const { rows } = await db.query<ApiKeyRow>(
    `insert into api_keys (user_id, name, scope, key_hash, key_prefix) values ($1, $2, $3, $4, $5) returning ${columns}`,
    [key.userId, key.name, key.scope, key.keyHash, key.prefix],
  )
  return toApiKey(rows[0]!)
}

export async function listApiKeys(db: Db, userId: string): Promise<ApiKey[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `select ${columns} from api_keys where user_id = $1 and revoked_at is null order by created_at desc, id desc`,
    [userId],
  )
  return rows.map(toApiKey)
}

/** Revokes the key if it is the user's; false when there is no such live key. */
export async function revokeApiKey(db: Db, userId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'update api_keys set revoked_at = now() where id = $1 and user_id = $2 and revoked_at is null',
    [id, userId],
  )
  return rowCount === 1
}

/**
 * Finds a live key by hash and records its use. `last_used_at` is written at most once a minute per
 * key, so an API key used in a tight loop does not turn every read into a write.
 */
export async function useApiKey(db: Db, keyHash: string): Promise<ApiKey | undefined> {
  const { rows } = await db.query<ApiKeyRow>(
    prepared(`select ${columns} from api_keys where key_hash = $1 and revoked_at is null`, [keyHash]),
  )
  const key = rows[0] && toApiKey(rows[0])
  if (key && (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > 60_000)) {
    await db.query('update api_keys set last_used_at = now() where id = $1', [key.id])
    key.lastUsedAt = new Date()
  }
  return key
}
