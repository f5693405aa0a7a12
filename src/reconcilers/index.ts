import path from 'node:path'
import type PQueue from 'p-queue'
import { operatorRepositoriesOf, type Config } from '../config/index.js'
import type { Secrets } from '../config/secrets.js'
import type { ReconcilerSet } from '../controller/reconciler.js'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics/registry.js'
import { fencedRuntime, type Fence } from '../runtime/fence.js'
import { createCaddyAdmin, type ProxyAdmin } from '../runtime/caddy.js'
import type { Runtime } from '../runtime/runtime.js'
import type { Pool } from '../store/pool.js'
import { createDeploymentReconciler } from './deployment/reconcile.js'
import { createEnvironmentReconciler } from './environment/reconcile.js'
import type { Routing } from './environment/routing.js'
import { throttledSweep } from './garbage.js'
import { createProjectReconciler } from './project.js'
import { reservedHostnamesOf } from '../model/hostnames.js'
import { checkCertificate } from '../runtime/certificates.js'
import type { CertificateWatchDeps } from './routes/certificates.js'
import type { RoutingOptions } from './routes/render.js'
import { createRoutesReconciler } from './routes/reconcile.js'
import { RouteSync } from './routes/sync.js'

export interface ReconcilerDeps {
  pool: Pool
  /** The engine, unfenced: each term gets its own fenced view of it. */
  runtime: Runtime
  config: Config
  secrets: Secrets
  /** Build admission, shared across terms. */
  builds: PQueue
  log: Logger
  metrics: Metrics
  /** Caddy's admin API; by default the one at GILGAL_CADDY_ADMIN_URL (tests count its loads). */
  caddy?: ProxyAdmin
}

const SWEEP_INTERVAL_MS = 60_000

/** The reconcilers of one leadership term, every Docker mutation fenced by its epoch. */
export function createReconcilers(deps: ReconcilerDeps, fence: Fence): ReconcilerSet {
  const { pool, config, secrets } = deps
  const namePrefix = config.instance ? `gilgal-${config.instance}` : 'gilgal'
  const runtime = fencedRuntime(deps.runtime, fence)
  const sweep = throttledSweep({
    pool,
    runtime,
    intervalMs: SWEEP_INTERVAL_MS,
    onError: (error) => deps.log.warn({ err: error }, 'garbage collection failed; it runs again later'),
  })
  const routes = routeSyncFor(deps, fence)
  return {
    Project: createProjectReconciler({
      pool,
      runtime,
      sweep,
      namePrefix,
      attachContainers: config.attachContainers,
    }),
    Routes: createRoutesReconciler(routes, routes && certificateWatch(pool, config)),
    Environment: createEnvironmentReconciler({
      pool,
      runtime,
      secretKeys: secrets.secretKeys,
      bounds: config.limits,
      metrics: deps.metrics,
      namePrefix,
      routing: routes && routingFor(pool, routes, config),
    }),
    Deployment: createDeploymentReconciler({
      pool,
      runtime,
      workRoot: path.join(config.dataDir, 'builds'),
      allowLocalSources: config.allowLocalSources,
      operatorRepositories: operatorRepositoriesOf(config),
      allowLocalImages: config.allowLocalImages,
      allowPrivateSources: config.allowPrivateSources,
      baseImages: config.baseImages,
      buildMemoryBytes: config.buildMemoryBytes,
      admission: deps.builds,
      registry: config.registry,
      secretKeys: secrets.secretKeys,
      metrics: deps.metrics,
    }),
  }
}

/** Caddy's routes for this term, when GILGAL_CADDY_ADMIN_URL names a Caddy: loads checked by `fence`. */
function routeSyncFor(deps: ReconcilerDeps, fence: Fence): RouteSync | undefined {
  const url = deps.config.caddyAdminUrl
  if (!url) return undefined
  const caddy = deps.caddy ?? createCaddyAdmin(url)
  return new RouteSync({ pool: deps.pool, caddy, fence, options: routingOptions(deps.config) })
}

function routingFor(pool: Pool, routes: RouteSync, config: Config): Routing {
  return {
    pool,
    routes,
    reserved: reservedHostnamesOf(config),
    ports: { http: config.httpPort, https: config.httpsPort, tls: config.tls },
  }
}

function routingOptions(config: Config): RoutingOptions {
  return {
    baseDomain: config.baseDomain,
    httpPort: config.httpPort,
    httpsPort: config.httpsPort,
    tls: config.tls,
    ...(config.acmeEmail ? { acmeEmail: config.acmeEmail } : {}),
    ...(config.acmeCa ? { acmeCa: config.acmeCa } : {}),
    ...(config.apiHost ? { api: { host: config.apiHost, upstream: config.apiUpstream } } : {}),
  }
}

/** With automatic HTTPS, certificates are checked at Caddy's HTTPS port, on the host its admin API is on. */
function certificateWatch(pool: Pool, config: Config): CertificateWatchDeps | undefined {
  if (config.tls !== 'auto' || !config.caddyAdminUrl) return undefined
  const caddyHost = new URL(config.caddyAdminUrl).hostname
  return { pool, check: (hostname) => checkCertificate(caddyHost, config.httpsPort, hostname) }
}
