import { isLocalHostname } from '../../model/hostnames.js'
import type { CertificateCheck } from '../../runtime/certificates.js'
import { listDomainCertificates, recordCertificate, type DomainCertificate } from '../../store/domains.js'
import { insertEvents, type NewEvent } from '../../store/events.js'
import type { Pool } from '../../store/pool.js'

export interface CertificateWatchDeps {
  pool: Pool
  /** A handshake with Caddy for one hostname (runtime/certificates.ts, aimed at Caddy's HTTPS port). */
  check: (hostname: string) => Promise<CertificateCheck>
}

// Handshakes at once: enough to check hundreds of domains within a resync, few enough to be polite.
const PARALLEL = 4

/**
 * With automatic HTTPS, each custom domain's certificate is checked the way a browser would see it,
 * and the result lands in the environment's status (`status.domains`). A change of state is an event:
 * `CertificateReady`, or a Warning `CertificateNotReady` that says why (most often: the domain's DNS
 * does not point at this server yet, or ports 80 and 443 are not reachable for the ACME challenge).
 */
export async function watchCertificates(deps: CertificateWatchDeps): Promise<void> {
  const domains = (await listDomainCertificates(deps.pool)).filter((d) => !isLocalHostname(d.hostname))
  for (let start = 0; start < domains.length; start += PARALLEL) {
    await Promise.all(domains.slice(start, start + PARALLEL).map((domain) => checkOne(deps, domain)))
  }
}

async function checkOne(deps: CertificateWatchDeps, domain: DomainCertificate): Promise<void> {
  const check = await deps.check(domain.hostname)
  const state = check.trusted ? 'Ready' : 'NotReady'
  const message = check.trusted
    ? `certificate valid until ${check.validTo}`
    : `no trusted certificate yet (${check.reason}); Caddy obtains one once the domain's DNS points at this server and ports 80 and 443 reach it`
  await recordCertificate(deps.pool, domain, state, message)
  if (domain.certificate === state) return
  const event: NewEvent = {
    projectId: domain.projectId,
    object: { kind: 'Environment', id: domain.environmentId, name: domain.environmentName },
    type: check.trusted ? 'Normal' : 'Warning',
    reason: check.trusted ? 'CertificateReady' : 'CertificateNotReady',
    message: `${domain.hostname}: ${message}`,
    source: 'controller',
    actor: null,
  }
  await insertEvents(deps.pool, [event])
}
