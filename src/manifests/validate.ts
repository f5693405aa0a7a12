import { ValidationError, type FieldError } from '../errors.js'
import { isKind, KINDS, type Kind } from '../model/kinds.js'
import { MIN_CPUS, MIN_MEMORY_BYTES, type Limits } from '../model/limits.js'
import type {
  EnvironmentManifestSpec,
  GitSource,
  Manifests,
  ProjectSpec,
  Resources,
  Source,
} from '../model/specs.js'
import { formatMemory, parseMemory } from '../model/units.js'
import { validateManifest, validateSpec } from './schemas.js'
import { assertPlainData, MAX_SPEC_NODES } from './shape.js'

/** What this server accepts in a spec: local git sources or not, and the bounds of one container. */
export interface WritePolicy {
  /** GILGAL_ALLOW_LOCAL_SOURCES */
  allowLocalSources: boolean
  /** GILGAL_MAX_MEMORY, in bytes */
  maxMemoryBytes: number
  /** GILGAL_MAX_CPUS */
  maxCpus: number
}

/** The policy of a server that allows local sources or not, under the operator's limits. */
export function writePolicyOf(
  allowLocalSources: boolean,
  limits: Pick<Limits, 'memoryBytes' | 'cpus'>,
): WritePolicy {
  return { allowLocalSources, maxMemoryBytes: limits.memoryBytes, maxCpus: limits.cpus }
}

/** A validated document of a request, with its position in it. */
export type Manifest = Manifests[Kind] & { index: number }

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
}

const HEALTH_CHECK_TYPES = ['http', 'tcp', 'exec', 'none'] as const

/**
 * Validates every document of a request before anything is written, and reports every problem at
 * once, each path prefixed with `/documents/<index>`. Documents come back typed, defaults filled in.
 */
export function validateManifests(documents: unknown[], policy: WritePolicy): Manifest[] {
  const errors: FieldError[] = []
  const problems: string[] = []
  const manifests: Manifest[] = []
  documents.forEach((document, index) => {
    try {
      manifests.push(validateOne(document, index, policy))
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error
      errors.push(...error.errors)
      problems.push(
        `document ${index} (${describe(document)}): ${error.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
      )
    }
  })
  const duplicates = findDuplicates(manifests)
  errors.push(...duplicates)
  problems.push(...duplicates.map((e) => `${e.path} ${e.message}`))
  if (errors.length > 0) throw new ValidationError(problems.join('; '), errors)
  return manifests
}

function validateOne(document: unknown, index: number, policy: WritePolicy): Manifest {
  const where = `/documents/${index}`
  assertPlainData(document, where)
  const fields = isObject(document) ? document : {}
  if (!isKind(fields.kind)) {
    throw new ValidationError('bad kind', [
      { path: `${where}/kind`, message: `must be one of ${KINDS.join(', ')}` },
    ])
  }
  if (fields.kind === 'Environment') assertNoIsolationEscape(fields.spec, `${where}/spec`)
  // A document without a spec gets the defaults of an empty one, as a REST write does (`spec: null` is
  // a mistake, and refused).
  const manifest = validateManifest(fields.kind, 'spec' in fields ? fields : { ...fields, spec: {} }, where)
  const errors: FieldError[] = []
  if (manifest.kind === 'Environment') checkEnvironmentSpec(manifest.spec, policy, errors, `${where}/spec`)
  if (manifest.kind === 'Project') checkProjectSpec(manifest.spec, policy, errors, `${where}/spec`)
  if (manifest.kind === 'Deployment')
    checkSource(manifest.spec.source, policy, errors, `${where}/spec/source`, false)
  throwIfAny(errors, `${manifest.kind} spec is invalid`)
  return { ...manifest, index }
}

/** An Environment spec of a REST write: validated, defaults filled in. */
export function validateEnvironmentSpec(input: unknown, policy: WritePolicy): EnvironmentManifestSpec {
  assertPlainData(input, '/spec', MAX_SPEC_NODES)
  assertNoIsolationEscape(input, '/spec')
  const spec = validateSpec('Environment', structuredClone(input ?? {}))
  const errors: FieldError[] = []
  checkEnvironmentSpec(spec, policy, errors, '/spec')
  throwIfAny(errors, 'Environment spec is invalid')
  return spec
}

/** A Project spec of a REST write: validated, defaults filled in. */
export function validateProjectSpec(input: unknown, policy: WritePolicy): ProjectSpec {
  assertPlainData(input, '/spec', MAX_SPEC_NODES)
  const spec = validateSpec('Project', structuredClone(input ?? {}))
  const errors: FieldError[] = []
  checkProjectSpec(spec, policy, errors, '/spec')
  throwIfAny(errors, 'Project spec is invalid')
  return spec
}

/** The source a deploy request names instead of the environment's (already schema-checked). */
export function validateDeploySource(source: Source | undefined, policy: WritePolicy): void {
  assertPlainData(source, '/source', MAX_SPEC_NODES)
  const errors: FieldError[] = []
  checkSource(source, policy, errors, '/source', false)
  throwIfAny(errors, 'the source is invalid')
}

function checkEnvironmentSpec(
  spec: EnvironmentManifestSpec,
  policy: WritePolicy,
  errors: FieldError[],
  path: string,
): void {
  if (HEALTH_CHECK_TYPES.filter((type) => spec.healthCheck[type] !== undefined).length > 1) {
    errors.push({ path: `${path}/healthCheck`, message: 'must name at most one of http, tcp, exec, none' })
  }
  checkSource(spec.source, policy, errors, `${path}/source`)
  checkResources(spec.resources, policy, errors, `${path}/resources`)
}

/** Every container has a memory and a CPU limit within the operator's bounds: 0 is not "no limit". */
function checkResources(resources: Resources, policy: WritePolicy, errors: FieldError[], path: string): void {
  const memory = parseMemory(resources.memory)
  if (memory < MIN_MEMORY_BYTES || memory > policy.maxMemoryBytes) {
    const range = `${formatMemory(MIN_MEMORY_BYTES)} and ${formatMemory(policy.maxMemoryBytes)}`
    errors.push({ path: `${path}/memory`, message: `must be between ${range} (GILGAL_MAX_MEMORY)` })
  }
  if (resources.cpus < MIN_CPUS || resources.cpus > policy.maxCpus) {
    errors.push({
      path: `${path}/cpus`,
      message: `must be between ${MIN_CPUS} and ${policy.maxCpus} (GILGAL_MAX_CPUS)`,
    })
  }
}

function checkProjectSpec(spec: ProjectSpec, policy: WritePolicy, errors: FieldError[], path: string): void {
  if (spec.repository) checkGit(spec.repository, policy, errors, `${path}/repository`)
}

/** `credentials: false`: a deploy's source, which is stored as sent and so may hold no password. */
function checkSource(
  source: Source | undefined,
  policy: WritePolicy,
  errors: FieldError[],
  path: string,
  credentials = true,
): void {
  if (!source || !('git' in source)) return
  checkGit(source.git, policy, errors, `${path}/git`)
  if (!credentials && source.git.credentials)
    errors.push({
      path: `${path}/git/credentials`,
      message: 'belong to the environment or the project, not to a deploy',
    })
}

function checkGit(git: GitSource, policy: WritePolicy, errors: FieldError[], path: string): void {
  checkLocalSource(git.url, policy, errors, `${path}/url`)
  if (git.credentials && !git.url?.startsWith('https://'))
    errors.push({
      path: `${path}/credentials`,
      message: 'are for https remotes (an ssh remote authenticates with keys)',
    })
}

/** Refuses a local git source (file:// or a path) unless the server allows them. */
function checkLocalSource(
  url: string | undefined,
  policy: WritePolicy,
  errors: FieldError[],
  path: string,
): void {
  if (url === undefined || policy.allowLocalSources) return
  if (url.startsWith('file://') || url.startsWith('/')) {
    errors.push({
      path,
      message: 'is a local source, which this server refuses (GILGAL_ALLOW_LOCAL_SOURCES=false)',
    })
  }
}

function throwIfAny(errors: FieldError[], summary: string): void {
  if (errors.length > 0)
    throw new ValidationError(`${summary}: ${errors[0]!.path} ${errors[0]!.message}`, errors)
}

function assertNoIsolationEscape(spec: unknown, path: string): void {
  if (!isObject(spec)) return
  const errors = Object.keys(spec)
    .filter((key) => key in ISOLATION_ESCAPES)
    .map((key) => ({
      path: `${path}/${key}`,
      message: `is not allowed: Gilgal never grants ${ISOLATION_ESCAPES[key]}`,
    }))
  if (errors.length > 0)
    throw new ValidationError(`${errors[0]!.path} ${errors[0]!.message}`, errors, 'GILGAL_ISOLATION_ESCAPE')
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** "Environment shop/production", as far as a (possibly broken) document allows. */
function describe(document: unknown): string {
  const { kind, metadata } = isObject(document) ? document : {}
  const parts = isObject(metadata) ? [metadata.project, metadata.environment, metadata.name] : []
  const path = parts.filter((part) => typeof part === 'string')
  return `${typeof kind === 'string' ? kind : 'unknown kind'} ${path.join('/') || '(no name)'}`
}

function findDuplicates(manifests: Manifest[]): FieldError[] {
  const seen = new Set<string>()
  return manifests.flatMap((manifest) => {
    const key = `${manifest.kind}/${manifestPath(manifest)}`
    if (!seen.has(key)) return (seen.add(key), [])
    return [{ path: `/documents/${manifest.index}/metadata/name`, message: `${key} appears twice` }]
  })
}

/** `shop`, `shop/production` or `shop/production/release-1`: a manifest's place among the others. */
export function manifestPath(manifest: Manifest): string {
  const { metadata } = manifest
  if (manifest.kind === 'Project') return metadata.name
  if (manifest.kind === 'Environment') return `${manifest.metadata.project}/${metadata.name}`
  return `${manifest.metadata.project}/${manifest.metadata.environment}/${metadata.name}`
}
