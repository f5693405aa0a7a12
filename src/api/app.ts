import { randomUUID } from 'node:crypto'
import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { PasswordHasher } from '../auth/passwords.js'
import type { Secrets } from '../config/secrets.js'
import type { Logger } from '../log.js'
import type { ReservedHostnames } from '../model/hostnames.js'
import type { Limits } from '../model/limits.js'
import type { WatchHub } from './watch-hub.js'
import { createMetrics, type Metrics } from '../metrics/registry.js'
import { createManifestReader } from '../manifests/reader.js'
import { writePolicyOf } from '../manifests/validate.js'
import type { Pool } from '../store/pool.js'
import type { RuntimeReads } from '../runtime/runtime.js'
import type { VersionInfo } from '../version.js'
import { registerAuth } from './plugins/auth.js'
import { registerMetrics } from './plugins/metrics.js'
import { registerOpenApi } from './plugins/openapi.js'
import { registerProblemHandler } from './plugins/problem.js'
import { sharedSchemas } from './schemas.js'
import { apiKeyRoutes } from './routes/api-keys.js'
import { applyRoutes } from './routes/apply.js'
import { authRoutes } from './routes/auth.js'
import { deploymentLogRoutes } from './routes/deployment-logs.js'
import { environmentLogRoutes } from './routes/environment-logs.js'
import { deploymentRoutes } from './routes/deployments.js'
import { environmentRoutes } from './routes/environments.js'
import { healthRoutes } from './routes/health.js'
import { projectRoutes } from './routes/projects.js'

export interface AppDeps {
  pool: Pool
  log: Logger
  version: VersionInfo
  secrets: Secrets
  passwords: PasswordHasher
  corsOrigins?: readonly string[]
  /** GILGAL_ALLOW_LOCAL_SOURCES: accept file:// and local-path git sources. */
  allowLocalSources?: boolean
  /** GILGAL_MAX_*: bounds of one container, quotas and the pace of writes of one user. */
  limits: Limits
  /**
   * GILGAL_BASE_DOMAIN and GILGAL_API_HOST: no environment may claim them as a domain. Left out (tests,
   * the bench), those of a process that sets neither.
   */
  reservedHostnames?: ReservedHostnames
  /** Set in a process that runs the controller: /readyz then checks the Docker engine too. */
  engineReachable?: () => Promise<boolean>
  /** The watch connection (`?watch=true`); the caller starts and stops it. */
  watch?: WatchHub
  /** GILGAL_TRUSTED_PROXIES: whose X-Forwarded-For names the client (rate limits, logs). */
  trustedProxies?: readonly string[]
  metrics?: Metrics
  metricsToken?: string
  /** Read-only use: runtime logs of environments. Absent in a process without an engine. */
  runtime?: RuntimeReads
  /** GILGAL_REGISTRATION (default open). */
  registration?: 'open' | 'closed'
  /** Production without GILGAL_METRICS_TOKEN: /metrics is not served to anyone. */
  requireMetricsToken?: boolean
  /** Per client address, on register/login/refresh. */
  authRateLimit?: { max: number; timeWindow: number }
}

const BODY_LIMIT_BYTES = 1024 * 1024
const DEFAULT_AUTH_RATE_LIMIT = { max: 30, timeWindow: 60_000 }

/**
 * Builds the HTTP API. It never calls listen(): main.ts does, and tests use `app.inject`. Request ids
 * come from `x-request-id` when a proxy sets one, otherwise a fresh UUID, and are echoed back.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger type is wider than Fastify's; the instance is the same root logger.
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    // Behind Caddy (GILGAL_API_HOST) every request comes from the proxy: the client is who it says.
    ...(deps.trustedProxies?.length ? { trustProxy: [...deps.trustedProxies] } : {}),
    // Unknown fields are refused, not silently dropped; every field error is reported at once.
    ajv: { customOptions: { removeAdditional: false, allErrors: true, allowUnionTypes: true } },
    // Every path answers with or without a trailing slash (`/api/projects/` as `/api/projects`), and
    // a '/' route under a prefix is registered once. By default Fastify registers it twice, and the
    // second registration renames the route @fastify/swagger recorded: the OpenAPI document listed
    // `/api/projects/` and not `/api/projects`.
    routerOptions: { ignoreTrailingSlash: true },
  })
  // Watch streams never end by themselves: they end first, so a graceful close does not wait on them.
  app.addHook('preClose', async () => deps.watch?.closeAll())
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  registerProblemHandler(app)
  registerMetrics(app, deps.metrics ?? createMetrics(), deps.metricsToken, deps.requireMetricsToken)
  // The API answers JSON; its one HTML page (/docs) sets its own CSP.
  await app.register(helmet, { contentSecurityPolicy: false })
  await app.register(cors, { origin: deps.corsOrigins?.length ? [...deps.corsOrigins] : false })
  await app.register(rateLimit, { global: false })
  for (const schema of sharedSchemas()) app.addSchema(schema)
  await registerOpenApi(app, deps.version)
  await registerAuth(app, {
    pool: deps.pool,
    jwtSecret: deps.secrets.jwtSecret,
    writesPerMinute: deps.limits.writesPerMinute,
  })

  await app.register(healthRoutes, {
    pool: deps.pool,
    version: deps.version,
    engineReachable: deps.engineReachable,
  })
  const rateLimitAuth = deps.authRateLimit ?? DEFAULT_AUTH_RATE_LIMIT
  await app.register(authRoutes, {
    prefix: '/api/auth',
    pool: deps.pool,
    passwords: deps.passwords,
    rateLimit: rateLimitAuth,
    registration: deps.registration ?? 'open',
  })
  await app.register(apiKeyRoutes, { prefix: '/api/auth/api-keys', pool: deps.pool })
  const resources = {
    pool: deps.pool,
    secretKeys: deps.secrets.secretKeys,
    reservedHostnames: deps.reservedHostnames ?? { baseDomain: 'localhost', apiHost: undefined },
    writePolicy: writePolicyOf(deps.allowLocalSources ?? false, deps.limits),
    quotas: deps.limits.quotas,
    watch: deps.watch,
  }
  await app.register(projectRoutes, { prefix: '/api/projects', ...resources })
  await app.register(environmentRoutes, { prefix: '/api', ...resources })
  await app.register(deploymentRoutes, { prefix: '/api', ...resources })
  await app.register(deploymentLogRoutes, { prefix: '/api', ...resources })
  await app.register(environmentLogRoutes, { prefix: '/api', ...resources, runtime: deps.runtime })
  const reader = createManifestReader()
  app.addHook('onClose', () => reader.close())
  await app.register(applyRoutes, { prefix: '/api', ...resources, reader })
  return app
}

/** What a controller-only process serves on its port: liveness, readiness and metrics. */
export async function buildOpsApp(
  deps: Pick<
    AppDeps,
    'pool' | 'log' | 'version' | 'metrics' | 'metricsToken' | 'requireMetricsToken' | 'engineReachable'
  >,
) {
  const app = Fastify({ loggerInstance: deps.log as FastifyBaseLogger, genReqId: () => randomUUID() })
  registerProblemHandler(app)
  registerMetrics(app, deps.metrics ?? createMetrics(), deps.metricsToken, deps.requireMetricsToken)
  await app.register(healthRoutes, {
    pool: deps.pool,
    version: deps.version,
    engineReachable: deps.engineReachable,
  })
  return app
}
