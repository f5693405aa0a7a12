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

/** A custom domain of a routed environment, and what its certificate was last found to be. */
export interface DomainCertificate {
  hostname: string
  environmentId: string
  environmentName: string
  projectId: string
  certificate: string | null
}

/** The claimed domains of environments that are routed (not being deleted), for the certificate check. */
export async function listDomainCertificates(pool: Pool): Promise<DomainCertificate[]> {
  const { rows } = await pool.query<DomainCertificate>(
    `select d.hostname, e.id as "environmentId", e.name as "environmentName", p.id as "projectId",
            d.certificate
       from environment_domains d
       join environments e on e.id = d.environment_id
       join projects p on p.id = e.project_id
      where e.deletion_requested_at is null and p.deletion_requested_at is null
      order by d.hostname`,
  )
  return rows
}

/** Records a certificate check of a hostname the environment still holds. */
export async function recordCertificate(
  pool: Pool,
  domain: Pick<DomainCertificate, 'hostname' | 'environmentId'>,
  certificate: 'Ready' | 'NotReady',
  message: string,
): Promise<void> {
  await pool.query(
    `update environment_domains set certificate = $3, certificate_message = $4, checked_at = now()
      where hostname = $1 and environment_id = $2`,
    [domain.hostname, domain.environmentId, certificate, message],
  )
}
