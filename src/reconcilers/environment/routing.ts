import type { Logger } from '../../log.js'
import { hostnamesOf, urlOf, type ReservedHostnames } from '../../model/hostnames.js'
import type { RolloutState } from '../../store/environments.js'
import type { Pool } from '../../store/pool.js'
import { writeUpstreams, type RoutedEnvironment } from '../../store/routes.js'
import { routeFingerprint, type RouteSync } from '../routes/sync.js'
import type { Plan } from './model.js'

/** What the environment reconciler needs of routing: the shared route sync and how URLs look. */
export interface Routing {
  pool: Pool
  routes: RouteSync
  /** The base domain (default hostnames) and the API's host: claims under either are never routed. */
  reserved: ReservedHostnames
  ports: { http: number; https: number; tls: 'off' | 'auto' }
}

/** The URLs users reach the environment at through Caddy. */
export function urlsOf(routing: Routing, state: RolloutState): string[] {
  const { domains } = state.environment
  return hostnamesOf(state.project.name, state.environment.name, domains, routing.reserved).map((host) =>
    urlOf(host, routing.ports),
  )
}

/**
 * Points the environment's routes at the plan's upstreams, before any of the plan's actions: traffic
 * moves to new containers before old ones stop (the switch, a drain, a rollback), and the drain is
 * counted from Caddy's confirmation (the time returned). A plan that stops or removes nothing and
 * switches nothing goes on when Caddy cannot be reached (a dead container is still replaced); one
 * that does waits for Caddy, retried with backoff.
 */
export async function routeFirst(
  routing: Routing | undefined,
  state: RolloutState,
  plan: Plan,
  log: Logger,
): Promise<string | undefined> {
  if (!routing) return undefined
  const upstreams = plan.status.upstreams ?? []
  const env: RoutedEnvironment = {
    id: state.environment.id,
    projectId: state.project.id,
    project: state.project.name,
    environment: state.environment.name,
    domains: state.environment.domains,
    upstreams,
  }
  // A step that stops, removes or switches asks Caddy itself (one read): memory can be stale after a
  // restart or a hand edit, and these steps must not act on a route Caddy does not run.
  const served = routing.routes.serves(env.id, routeFingerprint(env, routing.reserved))
  if (served && !dependsOnRoutes(plan)) return undefined
  try {
    await writeUpstreams(routing.pool, env.id, upstreams)
    await routing.routes.sync()
    return new Date().toISOString()
  } catch (error) {
    if (dependsOnRoutes(plan)) throw error
    log.warn({ err: error }, 'routes not updated; the next pass tries again')
    return undefined
  }
}

function dependsOnRoutes(plan: Plan): boolean {
  return plan.actions.some(
    (action) =>
      action.type === 'stop' ||
      action.type === 'remove' ||
      (action.type === 'revision' && typeof action.patch.switchedAt === 'string'),
  )
}
