import { conflictOnDuplicate } from './errors.js'
import { prepared, type Pool, type PoolClient } from './pool.js'

export interface User {
  id: string
  email: string
  username: string
  createdAt: Date
  updatedAt: Date
}

export interface UserWithPassword extends User {
  passwordHash: string
}

interface UserRow {
  id: string
  email: string
  username: string
  password_hash: string
  created_at: Date
  updated_at: Date
}

type Db = Pool | PoolClient

const columns = 'id, email, username, password_hash, created_at, updated_at'

function toUser(row: UserRow): UserWithPassword {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export async function insertUser(
  db: Db,
  user: { email: string; username: string; passwordHash: string },
): Promise<UserWithPassword> {
  const insert = db.query<UserRow>(
    `insert into users (email, username, password_hash) values ($1, $2, $3) returning ${columns}`,
    [user.email, user.username, user.passwordHash],
  )
  const { rows } = await conflictOnDuplicate(
    insert,
    'that email or username is already registered',
    'GILGAL_USER_EXISTS',
  )
  return toUser(rows[0]!)
}

/**
 * Whether anybody has an account yet. Takes a lock that makes concurrent first registrations wait for
 * each other, so with registration closed exactly one of them can be the first.
 */
export async function hasAnyUser(client: PoolClient): Promise<boolean> {
  await client.query('select pg_advisory_xact_lock($1::bigint)', [FIRST_USER_LOCK_KEY])
  return anyUserExists(client)
}

/** Whether anybody has an account yet, without a lock (a first check before costly work). */
export async function anyUserExists(db: Db): Promise<boolean> {
  const { rowCount } = await db.query('select 1 from users limit 1')
  return (rowCount ?? 0) > 0
}

// Any constant works; every Gilgal process must use the same one ("users1" in ASCII).
const FIRST_USER_LOCK_KEY = '126588052861745'

export async function findUserByEmail(db: Db, email: string): Promise<UserWithPassword | undefined> {
  const { rows } = await db.query<UserRow>(`select ${columns} from users where lower(email) = lower($1)`, [
    email,
  ])
  return rows[0] && toUser(rows[0])
}

export async function findUserById(db: Db, id: string): Promise<UserWithPassword | undefined> {
  const { rows } = await db.query<UserRow>(prepared(`select ${columns} from users where id = $1`, [id]))
  return rows[0] && toUser(rows[0])
}

/**
 * Holds the user's row for the rest of the transaction: two transactions that call this for one user
 * run it one at a time. It is the "no key update" lock, which the key-share locks of the transaction's
 * own inserts (their foreign keys to the user) do not block: two writes of one user queue here, not deadlock.
 */
export async function lockUser(client: PoolClient, id: string): Promise<void> {
  await client.query(prepared('select 1 from users where id = $1 for no key update', [id]))
}

/** Sets the fields given; returns the updated user. */
export async function updateUser(
  db: Db,
  id: string,
  changes: { username?: string; passwordHash?: string },
): Promise<UserWithPassword> {
  const update = db.query<UserRow>(
    `update users set username = coalesce($2, username), password_hash = coalesce($3, password_hash),
       updated_at = now() where id = $1 returning ${columns}`,
    [id, changes.username ?? null, changes.passwordHash ?? null],
  )
  const { rows } = await conflictOnDuplicate(update, 'that username is taken', 'GILGAL_USER_EXISTS')
  return toUser(rows[0]!)
}
