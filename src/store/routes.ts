import { CLAIMED_DOMAINS } from './environments.js'
import { prepared, type Pool } from './pool.js'

/** One environment as the routes reconciler renders it. */
export interface RoutedEnvironment {
  id: string
  projectId: string
  project: string
  environment: string
  /** The hostnames it holds (environment_domains), not merely lists: a domain is routed to one environment. */
  domains: string[]
  /** `ip:port` of the containers to send traffic to (the environment reconciler's choice). */
  upstreams: string[]
}

/**
 * Every environment that is routed: those being deleted (or whose project is) are not, so their
 * routes go before their containers do. Ordered by creation, so the rendered configuration is stable.
 */
export async function listRoutedEnvironments(pool: Pool): Promise<RoutedEnvironment[]> {
  const { rows } = await pool.query<{
    id: string
    project_id: string
    project: string
    environment: string
    domains: string[] | null
    upstreams: string[] | null
  }>(
    prepared(
      `select e.id, p.id as project_id, p.name as project, e.name as environment,
              ${CLAIMED_DOMAINS} as domains, e.status->'upstreams' as upstreams
         from environments e join projects p on p.id = e.project_id
        where e.deletion_requested_at is null and p.deletion_requested_at is null
        order by e.created_at, e.id`,
      [],
    ),
  )
  return rows.map((row) => ({
    id: row.id,
    projectId: row.project_id,
    project: row.project,
    environment: row.environment,
    domains: Array.isArray(row.domains) ? row.domains : [],
    upstreams: Array.isArray(row.upstreams) ? row.upstreams : [],
  }))
}

/** Records the containers an environment's traffic goes to, before Caddy is asked to route there. */
export async function writeUpstreams(pool: Pool, environmentId: string, upstreams: string[]): Promise<void> {
  await pool.query(
    prepared(`update environments set status = jsonb_set(status, '{upstreams}', $2::jsonb) where id = $1`, [
      environmentId,
      JSON.stringify(upstreams),
    ]),
  )
}
