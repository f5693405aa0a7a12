import type { SecretKey } from '../config/secrets.js'
import { mergeSealed } from '../crypto/secret-box.js'
import { ValidationError, type FieldError } from '../errors.js'
import { validateSpec } from '../manifests/schemas.js'
import type { Spec } from '../store/projects.js'

export interface SpecOptions {
  secretKeys: readonly SecretKey[]
  allowLocalSources: boolean
}

// Named so the refusal says why, rather than "unknown field".
const ISOLATION_ESCAPES: Record<string, string> = {
  privileged: 'privileged containers',
  capAdd: 'added capabilities',
  capabilities: 'added capabilities',
  volumes: 'host mounts',
  mounts: 'host mounts',
  binds: 'host mounts',
  hostPath: 'host mounts',
  dockerSocket: 'access to the Docker socket',
  network: 'host networking',
  networkMode: 'host networking',
  hostNetwork: 'host networking',
  pid: 'the host PID namespace',
  ipc: 'the host IPC namespace',
  devices: 'host devices',
  securityOpt: 'weakened security options',
  user: 'a chosen user id (images set their own non-root user)',
}

const HEALTH_CHECK_TYPES = ['http', 'tcp', 'exec', 'none']

export const secretEnvContext = (name: string) => `secretEnv:${name}`
export const registryContext = (server: string) => `registry:${server}`

/**
 * Validates an Environment spec from a client and returns the spec to store: defaults filled in, and
 * secretEnv sealed and merged into `stored` (write-only: absent names keep their values).
 */
export function prepareEnvironmentSpec(input: unknown, stored: Spec | undefined, options: SpecOptions): Spec {
  assertPlainData(input, '/spec')
  assertNoIsolationEscape(input)
  const spec = structuredClone((input ?? {}) as Spec)
  validateSpec('Environment', spec)
  const errors: FieldError[] = []
  const checks = spec.healthCheck as Record<string, unknown>
  if (HEALTH_CHECK_TYPES.filter((type) => type in checks).length > 1) {
    errors.push({ path: '/spec/healthCheck', message: 'must name at most one of http, tcp, exec, none' })
  }
  const git = (spec.source as { git?: { url?: string } } | undefined)?.git
  checkLocalSource(git?.url, '/spec/source/git/url', options, errors)
  if (errors.length > 0)
    throw new ValidationError(`Environment spec is invalid: ${errors[0]!.path} ${errors[0]!.message}`, errors)
  const storedSecrets = (stored?.secretEnv ?? {}) as Record<string, string>
  const update = spec.secretEnv as Record<string, string | null> | undefined
  spec.secretEnv = mergeSealed(storedSecrets, update, options.secretKeys, secretEnvContext)
  return spec
}

interface Registry {
  server: string
  username: string
  password?: string
}

/** Validates a Project spec; registry passwords are sealed, and one left out keeps the stored one. */
export function prepareProjectSpec(input: unknown, stored: Spec | undefined, options: SpecOptions): Spec {
  assertPlainData(input, '/spec')
  const spec = structuredClone((input ?? {}) as Spec)
  validateSpec('Project', spec)
  const errors: FieldError[] = []
  checkLocalSource(
    (spec.repository as { url?: string } | undefined)?.url,
    '/spec/repository/url',
    options,
    errors,
  )
  if (errors.length > 0)
    throw new ValidationError(`Project spec is invalid: ${errors[0]!.path} ${errors[0]!.message}`, errors)
  const storedRegistries = (stored?.registries ?? []) as Registry[]
  if (spec.registries) {
    spec.registries = (spec.registries as Registry[]).map((registry) => {
      const previous = storedRegistries.find((r) => r.server === registry.server)
      const update = registry.password === undefined ? {} : { [registry.server]: registry.password }
      const sealed = mergeSealed(
        previous?.password ? { [registry.server]: previous.password } : {},
        update,
        options.secretKeys,
        registryContext,
      )
      return { ...registry, ...(sealed[registry.server] ? { password: sealed[registry.server] } : {}) }
    })
  }
  return spec
}

/** Refuses a local git source (file:// or a path) unless the server allows them. */
export function assertSourceAllowed(source: unknown, path: string, options: SpecOptions): void {
  const errors: FieldError[] = []
  checkLocalSource((source as { git?: { url?: string } } | undefined)?.git?.url, path, options, errors)
  if (errors.length > 0) throw new ValidationError(`${errors[0]!.path} ${errors[0]!.message}`, errors)
}

function checkLocalSource(
  url: string | undefined,
  path: string,
  options: SpecOptions,
  errors: FieldError[],
): void {
  if (url === undefined || options.allowLocalSources) return
  if (url.startsWith('file://') || url.startsWith('/')) {
    errors.push({
      path,
      message: 'is a local source, which this server refuses (GILGAL_ALLOW_LOCAL_SOURCES=false)',
    })
  }
}

function assertNoIsolationEscape(spec: unknown): void {
  if (typeof spec !== 'object' || spec === null) return
  const errors = Object.keys(spec)
    .filter((key) => key in ISOLATION_ESCAPES)
    .map((key) => ({
      path: `/spec/${key}`,
      message: `is not allowed: Gilgal never grants ${ISOLATION_ESCAPES[key]}`,
    }))
  if (errors.length > 0)
    throw new ValidationError(`${errors[0]!.path} ${errors[0]!.message}`, errors, 'GILGAL_ISOLATION_ESCAPE')
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** Refuses keys that could reach an object's prototype, at any depth. */
export function assertPlainData(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => assertPlainData(item, `${path}/${index}`))
  } else if (typeof value === 'object' && value !== null) {
    for (const key of Reflect.ownKeys(value)) {
      if (typeof key !== 'string' || FORBIDDEN_KEYS.has(key)) {
        const where = `${path}/${String(key)}`
        throw new ValidationError(
          `${where} is not allowed`,
          [{ path: where, message: 'is a reserved key' }],
          'GILGAL_RESERVED_KEY',
        )
      }
      assertPlainData((value as Record<string, unknown>)[key], `${path}/${key}`)
    }
  }
}

/** What a client may see of a spec: secret values become the list of names; passwords disappear. */
export function publicSpec(spec: Spec): Spec {
  const visible: Spec = { ...spec }
  if (visible.secretEnv !== undefined) visible.secretEnv = Object.keys(visible.secretEnv as object).sort()
  if (Array.isArray(visible.registries)) {
    visible.registries = (visible.registries as Registry[]).map(({ server, username }) => ({
      server,
      username,
    }))
  }
  return visible
}
