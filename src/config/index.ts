import path from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import type { LevelWithSilent } from 'pino'
import { ConfigError } from '../errors.js'
import { domainRefusal } from '../model/hostnames.js'
import type { Limits } from '../model/limits.js'
import { envHints, envSchema } from './schema.js'

export type Role = 'api' | 'controller' | 'all'

/** The validated, frozen configuration of one process (README.md, Configuration). */
export interface Config {
  readonly nodeEnv: string
  readonly isProduction: boolean
  readonly databaseUrl: string | undefined
  readonly dataDir: string
  readonly embeddedPostgresPort: number
  readonly port: number
  readonly host: string
  /** Raw values; `loadSecrets` turns them into keys, generating dev ones when absent. */
  readonly jwtSecret: string | undefined
  readonly secretKeys: string | undefined
  readonly dockerHost: string | undefined
  readonly baseDomain: string
  readonly caddyAdminUrl: string | undefined
  readonly httpPort: number
  readonly httpsPort: number
  readonly tls: 'off' | 'auto'
  /** The ACME account's email for automatic HTTPS (GILGAL_ACME_EMAIL). */
  readonly acmeEmail: string | undefined
  /** The ACME directory Caddy orders certificates from (GILGAL_ACME_CA); default: Caddy's own issuers. */
  readonly acmeCa: string | undefined
  /** Caddy serves Gilgal's own API at this hostname (GILGAL_API_HOST); never under the base domain. */
  readonly apiHost: string | undefined
  /** Where Caddy reaches the API (GILGAL_API_UPSTREAM): by default HOST:PORT, a wildcard HOST as loopback. */
  readonly apiUpstream: string
  /**
   * Proxies whose X-Forwarded-For the API believes (GILGAL_TRUSTED_PROXIES): Caddy's address when it
   * serves the API, so rate limits count each client, not the proxy. Empty: none.
   */
  readonly trustedProxies: readonly string[]
  /**
   * Containers (by name) the controller connects to every project network: Caddy's, and its own when
   * it runs in a container, so both reach the apps by their network addresses (docker-compose.yml).
   */
  readonly attachContainers: readonly string[]
  readonly role: Role
  /** What runs the apps (GILGAL_RUNTIME): one Docker engine, or a Docker Swarm cluster through a manager. */
  readonly runtime: 'docker' | 'swarm'
  /** How Gilgal and Caddy reach Swarm tasks (GILGAL_SWARM_REACH; runtime/swarm/places.ts). */
  readonly swarmReach: 'host' | 'overlay'
  readonly resyncSeconds: number
  readonly leaseSeconds: number
  readonly leaseRenewSeconds: number
  readonly buildConcurrency: number
  readonly buildMemoryBytes: number
  readonly registry: string | undefined
  /** Labels every Docker object; this installation then sees only its own (several may share an engine). */
  readonly instance: string | undefined
  /** Base images of generated Dockerfiles (local ones for an engine that cannot pull). */
  readonly baseImages: { node: string; python: string; php: string; static: string }
  readonly allowLocalSources: boolean
  /**
   * A prebuilt image no registry gives this project may run from the engine's copy (never one Gilgal
   * built for another project). On by default in development, off in production.
   */
  readonly allowLocalImages: boolean
  /**
   * Git remotes and registries at addresses inside this server's networks (loopback, private,
   * link-local, …). On by default in development, off in production.
   */
  readonly allowPrivateSources: boolean
  readonly limits: Limits
  /** `closed`: nobody but the first user registers (GILGAL_REGISTRATION). */
  readonly registration: 'open' | 'closed'
  readonly logLevel: LevelWithSilent
  readonly corsOrigins: readonly string[]
  readonly metricsToken: string | undefined
}

type Env = Record<string, string | undefined>
type ParsedEnv = Record<string, string | number | boolean | undefined>

const validateEnv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false }).compile(envSchema)

/**
 * Parses and validates the environment once, at start. Throws ConfigError whose message is one line
 * naming the variable and what it expects. Empty strings count as unset, as shells make them easily.
 */
export function parseConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const values: ParsedEnv = {}
  for (const name of Object.keys(envSchema.properties)) {
    const value = env[name]
    if (value !== undefined && value !== '') values[name] = value
  }
  if (!validateEnv(values)) throw new ConfigError(describeEnvError(validateEnv.errors?.[0], values))

  // The renewal must fit three times in the lease, so one late renewal does not end leadership.
  if (Number(values.GILGAL_LEASE_RENEW_SECONDS) * 3 > Number(values.GILGAL_LEASE_SECONDS)) {
    throw new ConfigError(
      describeEnvError({ instancePath: '/GILGAL_LEASE_RENEW_SECONDS' } as ErrorObject, values),
    )
  }
  // Every name under the base domain is some project's: the API's own host there could be squatted.
  const base = String(values.GILGAL_BASE_DOMAIN)
  const apiHost = values.GILGAL_API_HOST as string | undefined
  if (apiHost && domainRefusal(apiHost, { baseDomain: base, apiHost: undefined })) {
    throw new ConfigError(describeEnvError({ instancePath: '/GILGAL_API_HOST' } as ErrorObject, values))
  }
  const isProduction = values.NODE_ENV === 'production'
  const config: Config = {
    nodeEnv: String(values.NODE_ENV),
    isProduction,
    databaseUrl: values.DATABASE_URL as string | undefined,
    dataDir: path.resolve(cwd, String(values.GILGAL_DATA_DIR)),
    embeddedPostgresPort: Number(values.GILGAL_EMBEDDED_PG_PORT),
    port: Number(values.PORT),
    host: String(values.HOST),
    jwtSecret: values.GILGAL_JWT_SECRET as string | undefined,
    secretKeys: values.GILGAL_SECRET_KEYS as string | undefined,
    dockerHost: values.DOCKER_HOST as string | undefined,
    baseDomain: String(values.GILGAL_BASE_DOMAIN),
    caddyAdminUrl: values.GILGAL_CADDY_ADMIN_URL as string | undefined,
    httpPort: Number(values.GILGAL_HTTP_PORT),
    httpsPort: Number(values.GILGAL_HTTPS_PORT),
    tls: (values.GILGAL_TLS as 'off' | 'auto' | undefined) ?? (isProduction ? 'auto' : 'off'),
    acmeEmail: values.GILGAL_ACME_EMAIL as string | undefined,
    acmeCa: values.GILGAL_ACME_CA as string | undefined,
    apiHost: values.GILGAL_API_HOST as string | undefined,
    apiUpstream: (values.GILGAL_API_UPSTREAM as string | undefined) ?? defaultApiUpstream(values),
    trustedProxies: parseList(String(values.GILGAL_TRUSTED_PROXIES ?? '')),
    attachContainers: parseList(String(values.GILGAL_ATTACH_CONTAINERS ?? '')),
    role: values.GILGAL_ROLE as Role,
    runtime: values.GILGAL_RUNTIME === 'swarm' ? 'swarm' : 'docker',
    swarmReach: values.GILGAL_SWARM_REACH === 'overlay' ? 'overlay' : 'host',
    resyncSeconds: Number(values.GILGAL_RESYNC_SECONDS),
    leaseSeconds: Number(values.GILGAL_LEASE_SECONDS),
    leaseRenewSeconds: Number(values.GILGAL_LEASE_RENEW_SECONDS),
    buildConcurrency: Number(values.GILGAL_BUILD_CONCURRENCY),
    buildMemoryBytes: parseSize(String(values.GILGAL_BUILD_MEMORY)),
    registry: values.GILGAL_REGISTRY as string | undefined,
    instance: values.GILGAL_INSTANCE as string | undefined,
    baseImages: {
      node: String(values.GILGAL_BASE_IMAGE_NODE),
      python: String(values.GILGAL_BASE_IMAGE_PYTHON),
      php: String(values.GILGAL_BASE_IMAGE_PHP),
      static: String(values.GILGAL_BASE_IMAGE_STATIC),
    },
    allowLocalSources: values.GILGAL_ALLOW_LOCAL_SOURCES === true,
    allowLocalImages: (values.GILGAL_ALLOW_LOCAL_IMAGES ?? !isProduction) === true,
    allowPrivateSources: (values.GILGAL_ALLOW_PRIVATE_SOURCES ?? !isProduction) === true,
    limits: {
      memoryBytes: parseSize(String(values.GILGAL_MAX_MEMORY)),
      cpus: Number(values.GILGAL_MAX_CPUS),
      quotas: {
        projects: Number(values.GILGAL_MAX_PROJECTS),
        environments: Number(values.GILGAL_MAX_ENVIRONMENTS),
        replicas: Number(values.GILGAL_MAX_REPLICAS),
        builds: Number(values.GILGAL_MAX_BUILDS),
      },
      writesPerMinute: Number(values.GILGAL_MAX_WRITES_PER_MINUTE),
    },
    registration: values.GILGAL_REGISTRATION === 'closed' ? 'closed' : 'open',
    logLevel: values.LOG_LEVEL as LevelWithSilent,
    corsOrigins: parseList(String(values.CORS_ORIGINS)),
    metricsToken: values.GILGAL_METRICS_TOKEN as string | undefined,
  }
  return Object.freeze(config)
}

function defaultApiUpstream(values: ParsedEnv): string {
  const host = String(values.HOST)
  const reachable = ['0.0.0.0', '::', ''].includes(host) ? '127.0.0.1' : host
  return `${reachable.includes(':') ? `[${reachable}]` : reachable}:${Number(values.PORT)}`
}

function describeEnvError(error: ErrorObject | undefined, values: ParsedEnv): string {
  const name = error?.instancePath.replace(/^\//, '') ?? 'environment'
  const expected = envHints[name] ?? error?.message ?? 'a valid value'
  return `${name}=${JSON.stringify(values[name])} is invalid: expected ${expected}`
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** `512m` → bytes. The schema already guarantees the shape. */
export function parseSize(size: string): number {
  const match = /^([0-9.]+)([kmg]?)$/i.exec(size)
  if (!match) throw new ConfigError(`size ${JSON.stringify(size)} is invalid: expected a size such as 512m`)
  return Math.round(Number(match[1]) * (SIZE_UNITS[match[2]!.toLowerCase()] ?? 1))
}

function parseList(list: string): string[] {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0)
}

/**
 * The operator's own git repositories (`gilgal seed` makes its demo ones here). No user can write
 * or name anything here, so the controller builds from them even when local sources are refused.
 */
export function operatorRepositoriesOf(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'repositories')
}
