import { isDeepStrictEqual } from 'node:util'
import { hostnamesOf, type ReservedHostnames } from '../../model/hostnames.js'
import type { ProxyAdmin } from '../../runtime/caddy.js'
import type { Fence } from '../../runtime/fence.js'
import type { Pool } from '../../store/pool.js'
import { listRoutedEnvironments, type RoutedEnvironment } from '../../store/routes.js'
import { renderApps, reservedOf, type RoutingOptions } from './render.js'

export interface RouteSyncDeps {
  pool: Pool
  caddy: ProxyAdmin
  /** The leadership term: Caddy is changed only while it holds, as Docker is. */
  fence: Fence
  options: RoutingOptions
}

/** What an environment's routes are made of: its hostnames and where they send traffic. */
export function routeFingerprint(env: RoutedEnvironment, reserved: ReservedHostnames): string {
  const hosts = hostnamesOf(env.project, env.environment, env.domains, reserved)
  return JSON.stringify([hosts, [...env.upstreams].sort()])
}

/**
 * Renders Caddy's configuration from the database and loads it when Caddy runs anything else (after
 * a restart, a hand edit, or a change of ours). One load at a time: callers that arrive while one runs
 * share the next, which reads the database after they called, so `sync()` resolving means Caddy runs
 * routes at least as new as what the caller wrote before calling.
 */
export class RouteSync {
  private running: Promise<void> | undefined
  private pending: Promise<void> | undefined
  /** Per environment, the fingerprint of the routes Caddy was last seen running (this term). */
  private readonly served = new Map<string, string>()
  /** Configurations loaded into Caddy so far (a resync that finds Caddy up to date loads none). */
  loads = 0

  constructor(private readonly deps: RouteSyncDeps) {}

  /** Whether Caddy was last seen running exactly these routes for the environment. */
  serves(environmentId: string, fingerprint: string): boolean {
    return this.served.get(environmentId) === fingerprint
  }

  sync(): Promise<void> {
    if (!this.pending) {
      const previous = this.running ?? Promise.resolve()
      this.pending = previous
        .catch(() => undefined)
        .then(() => {
          this.pending = undefined
          this.running = this.syncOnce()
          return this.running
        })
    }
    return this.pending
  }

  private async syncOnce(): Promise<void> {
    const { pool, caddy, fence, options } = this.deps
    const environments = await listRoutedEnvironments(pool)
    const apps = renderApps(environments, options)
    const running = await caddy.readConfig()
    if (!isDeepStrictEqual(running.apps, apps)) {
      await fence.assertCurrent()
      // Caddy's own settings (admin listener, logging, storage) stay as the operator made them.
      await caddy.load({ ...running, apps })
      this.loads++
    }
    this.served.clear()
    for (const env of environments) this.served.set(env.id, routeFingerprint(env, reservedOf(options)))
  }
}
