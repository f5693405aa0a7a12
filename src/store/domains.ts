import { ConflictError } from '../errors.js'
import type { Pool, PoolClient } from './pool.js'

type Db = Pool | PoolClient

/**
 * Makes an environment's claims (`environment_domains`) match the hostnames its spec lists, in the
 * caller's transaction: a hostname first claimed is held until the environment lets it go or its row
 * is removed, whoever asks after it. Rows of hostnames it keeps are left alone, so the certificate
 * columns the routing controller writes survive the write. A hostname another environment holds
 * throws ConflictError, naming neither it nor its owner; the caller's transaction then rolls back.
 */
export async function claimDomains(
  db: Db,
  environmentId: string,
  hostnames: readonly string[],
): Promise<void> {
  // Releasing and claiming touch disjoint hostnames, so one statement (one snapshot) does both.
  await db.query(
    `with released as (
       delete from environment_domains where environment_id = $1 and hostname <> all($2::text[])
     )
     insert into environment_domains (hostname, environment_id)
     select hostname, $1::uuid from unnest($2::text[]) as listed (hostname)
     on conflict (hostname) do nothing`,
    [environmentId, hostnames],
  )
  if (hostnames.length === 0) return
  // A statement of its own, with a fresh snapshot: an insert that waited for a concurrent claim of the
  // same hostname to commit did nothing, and only a later snapshot sees that claim.
  const { rows } = await db.query<{ hostname: string }>(
    `select hostname from environment_domains
      where hostname = any($2::text[]) and environment_id <> $1
      order by array_position($2::text[], hostname) limit 1`,
    [environmentId, hostnames],
  )
  if (rows[0]) throw new ConflictError(`domain ${rows[0].hostname} is already in use`, 'GILGAL_DOMAIN_TAKEN')
}
