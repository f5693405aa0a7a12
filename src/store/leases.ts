import pg from 'pg'
import { prepared, type Pool } from './pool.js'

/** Lease statements run on the elector's own connection (see controller/lease.ts). */
type Connection = Pool | pg.ClientBase
export type LeaseConnection = pg.Client

/**
 * The controller lease (riverqueue's river_leader is the model). Expiry is computed by the database
 * clock, so replicas on hosts whose clocks disagree still agree on who leads. Every take-over
 * increments the epoch, which fences out a paused former leader.
 */
export interface Lease {
  holder: string
  epoch: number
  expiresAt: Date
}

interface LeaseRow {
  holder: string
  epoch: string
  expires_at: Date
}

const toLease = (row: LeaseRow): Lease => ({
  holder: row.holder,
  epoch: Number(row.epoch),
  expiresAt: row.expires_at,
})

/** Takes the lease if it is free or expired; undefined when someone else holds it. */
export async function acquireLease(
  db: Connection,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<Lease | undefined> {
  const { rows } = await db.query<LeaseRow>(
    prepared(
      `insert into controller_leases (name, holder, epoch, expires_at)
       values ($1, $2, 1, now() + $3 * interval '1 millisecond')
       on conflict (name) do update
         set holder = excluded.holder, epoch = controller_leases.epoch + 1, acquired_at = now(), renewed_at = now(),
             expires_at = excluded.expires_at
         where controller_leases.expires_at <= now()
       returning holder, epoch, expires_at`,
      [name, holder, ttlMs],
    ),
  )
  return rows[0] && toLease(rows[0])
}

/** Extends a lease still held under `epoch`; undefined when it was lost (expired or taken over). */
export async function renewLease(
  db: Connection,
  name: string,
  holder: string,
  epoch: number,
  ttlMs: number,
): Promise<Lease | undefined> {
  const { rows } = await db.query<LeaseRow>(
    prepared(
      `update controller_leases set renewed_at = now(), expires_at = now() + $4 * interval '1 millisecond'
        where name = $1 and holder = $2 and epoch = $3 and expires_at > now()
        returning holder, epoch, expires_at`,
      [name, holder, epoch, ttlMs],
    ),
  )
  return rows[0] && toLease(rows[0])
}

/** How long until the lease expires, by the database's clock (0 if it has; undefined if there is none). */
export async function msUntilLeaseExpires(db: Connection, name: string): Promise<number | undefined> {
  const { rows } = await db.query<{ ms: number }>(
    prepared(
      `select greatest(0, extract(epoch from expires_at - now()) * 1000)::float8 as ms
         from controller_leases where name = $1`,
      [name],
    ),
  )
  return rows[0]?.ms
}

/** True while `holder` holds the lease under `epoch` and it has not expired (the fencing check). */
export async function isLeaseCurrent(
  db: Connection,
  name: string,
  holder: string,
  epoch: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    prepared(
      'select 1 from controller_leases where name = $1 and holder = $2 and epoch = $3 and expires_at > now()',
      [name, holder, epoch],
    ),
  )
  return rowCount === 1
}

/** Ends the lease at once, so a standby need not wait for it to expire. */
export async function releaseLease(
  db: Connection,
  name: string,
  holder: string,
  epoch: number,
): Promise<void> {
  await db.query(
    prepared(
      'update controller_leases set expires_at = now() where name = $1 and holder = $2 and epoch = $3',
      [name, holder, epoch],
    ),
  )
}

/**
 * A connection for the lease alone. `onLost` fires once if it fails or ends under us; statements
 * slower than `queryTimeoutMs` fail (a half-open socket must not stall a renewal).
 */
export async function openLeaseConnection(
  url: string,
  queryTimeoutMs: number,
  onLost: (error: Error) => void,
): Promise<LeaseConnection> {
  const client = new pg.Client({ connectionString: url, query_timeout: queryTimeoutMs, keepAlive: true })
  let connected = false
  let lost = false
  const lose = (error: Error) => {
    if (!connected || lost) return // a failed connect is reported by connect() itself
    lost = true
    client.end().catch(() => undefined)
    onLost(error)
  }
  client.on('error', lose)
  client.on('end', () => lose(new Error('lease connection ended')))
  await client.connect()
  connected = true
  return client
}
