/**
 * JSON Schema of the environment variables (README.md, Configuration). Values arrive as strings; ajv
 * coerces numbers and booleans and fills defaults. Messages name the variable, so a bad value stops
 * the process with one line that says what is expected.
 */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const port = { type: 'integer', minimum: 0, maximum: 65535 }
const httpUrl = { type: 'string', pattern: '^(http|https)://[^\\s]+$' }

export const envSchema = {
  type: 'object',
  properties: {
    NODE_ENV: { type: 'string', default: 'development' },
    DATABASE_URL: { type: 'string', pattern: '^postgres(ql)?://[^\\s]+$' },
    GILGAL_DATA_DIR: { type: 'string', minLength: 1, default: './.gilgal' },
    GILGAL_EMBEDDED_PG_PORT: { ...port, minimum: 1, default: 54329 },
    PORT: { ...port, default: 3000 },
    HOST: { type: 'string', minLength: 1, default: '127.0.0.1' },
    GILGAL_JWT_SECRET: { type: 'string' },
    GILGAL_SECRET_KEYS: { type: 'string' },
    DOCKER_HOST: { type: 'string', pattern: '^(unix|tcp|http|https|npipe|ssh)://[^\\s]+$' },
    GILGAL_BASE_DOMAIN: {
      type: 'string',
      pattern: '^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$',
      default: 'localhost',
    },
    GILGAL_CADDY_ADMIN_URL: httpUrl,
    GILGAL_HTTP_PORT: { ...port, minimum: 1, default: 80 },
    GILGAL_HTTPS_PORT: { ...port, minimum: 1, default: 443 },
    GILGAL_TLS: { type: 'string', enum: ['off', 'auto'] },
    GILGAL_ACME_EMAIL: { type: 'string', pattern: '^[^\\s@]+@[^\\s@]+$' },
    GILGAL_API_HOST: {
      type: 'string',
      pattern: '^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$',
    },
    GILGAL_API_UPSTREAM: { type: 'string', pattern: '^[a-zA-Z0-9.-]+:[0-9]{1,5}$' },
    GILGAL_ATTACH_CONTAINERS: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.,-]*$' },
    GILGAL_ROLE: { type: 'string', enum: ['api', 'controller', 'all'], default: 'all' },
    GILGAL_RESYNC_SECONDS: { type: 'integer', minimum: 1, maximum: 86400, default: 30 },
    GILGAL_LEASE_SECONDS: { type: 'integer', minimum: 2, maximum: 600, default: 10 },
    GILGAL_LEASE_RENEW_SECONDS: { type: 'integer', minimum: 1, maximum: 300, default: 2 },
    GILGAL_BUILD_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 64, default: 1 },
    GILGAL_BUILD_MEMORY: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?[kmgKMG]?$', default: '2g' },
    GILGAL_BASE_IMAGE_NODE: { type: 'string', minLength: 1, default: 'node:20-bookworm-slim' },
    GILGAL_BASE_IMAGE_PYTHON: { type: 'string', minLength: 1, default: 'python:3.12-slim' },
    GILGAL_BASE_IMAGE_PHP: { type: 'string', minLength: 1, default: 'php:8.3-cli' },
    GILGAL_BASE_IMAGE_STATIC: {
      type: 'string',
      minLength: 1,
      default: 'nginxinc/nginx-unprivileged:1.27-alpine',
    },
    GILGAL_REGISTRY: { type: 'string', pattern: '^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]+)?$' },
    GILGAL_INSTANCE: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$' },
    GILGAL_ALLOW_LOCAL_SOURCES: { type: 'boolean', default: false },
    // No default: it depends on NODE_ENV (config/index.ts).
    GILGAL_ALLOW_LOCAL_IMAGES: { type: 'boolean' },
    GILGAL_ALLOW_PRIVATE_SOURCES: { type: 'boolean' },
    GILGAL_REGISTRATION: { type: 'string', enum: ['open', 'closed'], default: 'open' },
    GILGAL_MAX_MEMORY: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?[kmgKMG]?$', default: '4g' },
    GILGAL_MAX_CPUS: { type: 'number', minimum: 0.01, maximum: 1024, default: 2 },
    GILGAL_MAX_PROJECTS: { type: 'integer', minimum: 1, default: 20 },
    GILGAL_MAX_ENVIRONMENTS: { type: 'integer', minimum: 1, default: 50 },
    GILGAL_MAX_REPLICAS: { type: 'integer', minimum: 1, default: 50 },
    GILGAL_MAX_BUILDS: { type: 'integer', minimum: 1, default: 10 },
    GILGAL_MAX_WRITES_PER_MINUTE: { type: 'integer', minimum: 1, default: 120 },
    LOG_LEVEL: { type: 'string', enum: LOG_LEVELS, default: 'info' },
    CORS_ORIGINS: { type: 'string', default: '' },
    GILGAL_METRICS_TOKEN: { type: 'string', minLength: 16 },
  },
} as const

/** What each variable expects, for the one-line error (ajv's own wording is terse). */
export const envHints: Record<string, string> = {
  DATABASE_URL: 'a postgres:// or postgresql:// connection URL',
  GILGAL_EMBEDDED_PG_PORT: 'a TCP port (1-65535)',
  PORT: 'a TCP port (0-65535)',
  GILGAL_HTTP_PORT: 'a TCP port (1-65535)',
  GILGAL_HTTPS_PORT: 'a TCP port (1-65535)',
  DOCKER_HOST: 'a URL such as unix:///var/run/docker.sock or tcp://host:2375',
  GILGAL_BASE_DOMAIN: 'a lowercase DNS name such as localhost or apps.example.com',
  GILGAL_CADDY_ADMIN_URL: 'an http(s):// URL such as http://localhost:2019',
  GILGAL_TLS: 'off or auto',
  GILGAL_ACME_EMAIL: "an email address for the ACME account (Let's Encrypt notices)",
  GILGAL_API_HOST: 'a lowercase DNS name outside GILGAL_BASE_DOMAIN, such as gilgal.example.com',
  GILGAL_API_UPSTREAM: 'host:port where Caddy reaches the API, such as gilgal:3000',
  GILGAL_ATTACH_CONTAINERS: 'a comma-separated list of container names, such as gilgal-caddy,gilgal',
  GILGAL_ROLE: 'api, controller or all',
  GILGAL_RESYNC_SECONDS: 'a whole number of seconds between 1 and 86400',
  GILGAL_BUILD_CONCURRENCY: 'a whole number between 1 and 64',
  GILGAL_LEASE_SECONDS: 'a whole number of seconds between 2 and 600',
  GILGAL_LEASE_RENEW_SECONDS: 'a whole number of seconds, at most a third of GILGAL_LEASE_SECONDS',
  GILGAL_BUILD_MEMORY: 'a size such as 512m or 2g',
  GILGAL_REGISTRY: 'a registry host with optional port and path, such as registry.local:5000/gilgal',
  GILGAL_INSTANCE: 'a DNS label naming this installation, such as staging',
  GILGAL_ALLOW_LOCAL_SOURCES: 'true or false',
  GILGAL_ALLOW_LOCAL_IMAGES: 'true or false',
  GILGAL_ALLOW_PRIVATE_SOURCES: 'true or false',
  GILGAL_REGISTRATION: 'open or closed',
  GILGAL_MAX_MEMORY: 'a size such as 512m or 4g (memory of one container)',
  GILGAL_MAX_CPUS: 'a number of CPUs such as 0.5 or 2 (of one container)',
  GILGAL_MAX_PROJECTS: 'a whole number of projects per user, at least 1',
  GILGAL_MAX_ENVIRONMENTS: 'a whole number of environments per user, at least 1',
  GILGAL_MAX_REPLICAS: 'a whole number of replicas per user, at least 1',
  GILGAL_MAX_BUILDS: 'a whole number of revisions per user queued or building, at least 1',
  GILGAL_MAX_WRITES_PER_MINUTE: 'a whole number of writes per user per minute, at least 1',
  LOG_LEVEL: LOG_LEVELS.join(', '),
  GILGAL_METRICS_TOKEN: 'a token of at least 16 characters',
}
