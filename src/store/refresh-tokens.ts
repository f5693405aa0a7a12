import type { Pool, PoolClient } from './pool.js'

type Db = Pool | PoolClient

export interface RefreshToken {
  id: string
  userId: string
  familyId: string
  expiresAt: Date
  usedAt: Date | null
  revokedAt: Date | null
}

interface RefreshTokenRow {
  id: string
  user_id: string
  family_id: string
  expires_at: Date
  used_at: Date | null
  revoked_at: Date | null
}

const columns = 'id, user_id, family_id, expires_at, used_at, revoked_at'

function toRefreshToken(row: RefreshTokenRow): RefreshToken {
  return {
    id: row.id,
    userId: row.user_id,
    familyId: row.family_id,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    revokedAt: row.revoked_at,
  }
}

export async function insertRefreshToken(
  db: Db,
  token: { userId: string; familyId: string; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db.query(
    'insert into refresh_tokens (user_id, family_id, token_hash, expires_at) values ($1, $2, $3, $4)',
    [token.userId, token.familyId, token.tokenHash, token.expiresAt],
  )
}

/**
 * Marks a live token used and returns it; one statement, so two concurrent refreshes with the same
 * token cannot both succeed. Returns undefined when the token is unknown, used, revoked or expired.
 */
export async function consumeRefreshToken(db: Db, tokenHash: string): Promise<RefreshToken | undefined> {
  const { rows } = await db.query<RefreshTokenRow>(
    `update refresh_tokens set used_at = now()
      where token_hash = $1 and used_at is null and revoked_at is null and expires_at > now()
      returning ${columns}`,
    [tokenHash],
  )
  return rows[0] && toRefreshToken(rows[0])
}

export async function findRefreshToken(db: Db, tokenHash: string): Promise<RefreshToken | undefined> {
  const { rows } = await db.query<RefreshTokenRow>(
    `select ${columns} from refresh_tokens where token_hash = $1`,
    [tokenHash],
  )
  return rows[0] && toRefreshToken(rows[0])
}

/**
 * Serialises every refresh-token write of one user until the transaction ends. Without it, a revocation
 * (reuse detection, logout, password change) running beside a rotation would miss the token the
 * rotation is inserting, and that token would outlive the revocation.
 */
export async function lockUserTokens(db: PoolClient, userId: string): Promise<void> {
  await db.query("select pg_advisory_xact_lock(hashtextextended('refresh-tokens:' || $1, 0))", [userId])
}

export async function revokeTokenFamily(db: Db, familyId: string): Promise<void> {
  await db.query('update refresh_tokens set revoked_at = now() where family_id = $1 and revoked_at is null', [
    familyId,
  ])
}

export async function revokeUserTokens(db: Db, userId: string): Promise<void> {
  await db.query('update refresh_tokens set revoked_at = now() where user_id = $1 and revoked_at is null', [
    userId,
  ])
}
