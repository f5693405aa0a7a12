import type { SecretKey } from '../config/secrets.js'
import {
  gitContext,
  mergeSealed,
  registryContext,
  sealSecret,
  secretEnvContext,
} from '../crypto/secret-box.js'
import { ValidationError } from '../errors.js'
import type {
  EnvironmentManifestSpec,
  EnvironmentSpec,
  ProjectSpec,
  GitSource,
  RegistryCredentials,
  RevisionSpec,
  Source,
} from '../model/specs.js'

/**
 * The spec to store for a validated Environment spec: secretEnv sealed and merged into the stored
 * values (write-only: a string sets, null removes, a name left out keeps its value).
 */
export function sealEnvironmentSpec(
  spec: EnvironmentManifestSpec,
  stored: EnvironmentSpec | undefined,
  keys: readonly SecretKey[],
): EnvironmentSpec {
  const secretEnv = mergeSealed(stored?.secretEnv ?? {}, spec.secretEnv, keys, secretEnvContext)
  const source =
    spec.source && 'git' in spec.source
      ? { git: sealGit(spec.source.git, gitOf(stored?.source), keys, '/spec/source/git') }
      : spec.source
  return { ...spec, secretEnv, ...(source ? { source } : {}) }
}

const gitOf = (source: Source | undefined) => (source && 'git' in source ? source.git : undefined)

/**
 * A git source with its password sealed, bound to its URL. A password left out keeps the stored one,
 * but only for the same URL and username: credentials never follow a remote they were not given for.
 */
function sealGit(
  git: GitSource,
  stored: GitSource | undefined,
  keys: readonly SecretKey[],
  path: string,
): GitSource {
  const credentials = git.credentials
  if (!credentials || !git.url) return git
  if (credentials.password !== undefined) {
    return {
      ...git,
      credentials: {
        username: credentials.username,
        password: sealSecret(credentials.password, keys, gitContext(git.url)),
      },
    }
  }
  const kept = stored?.credentials
  if (stored?.url === git.url && kept?.username === credentials.username && kept.password)
    return { ...git, credentials: kept }
  const message = 'is required: no password is stored for this url and username'
  throw new ValidationError(`${path}/credentials/password ${message}`, [
    { path: `${path}/credentials/password`, message },
  ])
}

/**
 * The spec to store for a validated Project spec: registry passwords and the repository's password
 * sealed; one left out keeps its stored value.
 */
export function sealProjectSpec(
  spec: ProjectSpec,
  stored: ProjectSpec | undefined,
  keys: readonly SecretKey[],
): ProjectSpec {
  const repository = spec.repository && sealGit(spec.repository, stored?.repository, keys, '/spec/repository')
  const registries = spec.registries && sealRegistries(spec.registries, stored?.registries ?? [], keys)
  return { ...spec, ...(repository ? { repository } : {}), ...(registries ? { registries } : {}) }
}

function sealRegistries(
  registries: RegistryCredentials[],
  stored: RegistryCredentials[],
  keys: readonly SecretKey[],
): RegistryCredentials[] {
  return registries.map((registry) => {
    const previous = stored.find((r) => r.server === registry.server)
    const update = registry.password === undefined ? {} : { [registry.server]: registry.password }
    const merged = mergeSealed(
      previous?.password ? { [registry.server]: previous.password } : {},
      update,
      keys,
      registryContext,
    )
    const password = merged[registry.server]
    return { server: registry.server, username: registry.username, ...(password ? { password } : {}) }
  })
}

/** What a client may see of a spec: secret values become the list of names; passwords disappear. */
export function publicSpec(
  spec: ProjectSpec | EnvironmentSpec | RevisionSpec,
): Record<string, unknown> & { secretEnv?: string[] } {
  const visible: Record<string, unknown> = { ...spec }
  const git = 'source' in spec ? gitOf(spec.source) : undefined
  if (git) visible.source = { git: withoutPassword(git) }
  if ('repository' in spec && spec.repository) visible.repository = withoutPassword(spec.repository)
  if ('secretEnv' in spec && spec.secretEnv !== undefined)
    visible.secretEnv = Object.keys(spec.secretEnv).sort()
  if ('registries' in spec && spec.registries) {
    visible.registries = spec.registries.map(({ server, username }) => ({ server, username }))
  }
  return visible
}

function withoutPassword(git: GitSource): GitSource {
  const url = git.url && redactUrl(git.url)
  const credentials = git.credentials && { username: git.credentials.username }
  return { ...git, ...(url ? { url } : {}), ...(credentials ? { credentials } : {}) }
}

export type StoredSpec = ProjectSpec | EnvironmentSpec

/** Where `sealedParts` puts a spec's write-only values, as the spec's own paths. */
export const SEALED_PATHS = [
  '/spec/secretEnv',
  '/spec/registries',
  '/spec/source/git/credentials',
  '/spec/repository/credentials',
]

/**
 * A spec's write-only values, still sealed, at their own paths (`SEALED_PATHS`): what `publicSpec`
 * leaves out, for a diff to tell changed from unchanged without showing them.
 */
export function sealedParts(spec: StoredSpec | undefined) {
  const registries = (spec && 'registries' in spec && spec.registries) || []
  return {
    secretEnv: (spec && 'secretEnv' in spec && spec.secretEnv) || {},
    registries: Object.fromEntries(
      registries.map((registry) => [registry.server, registry.password ?? null]),
    ),
    source: {
      git: {
        credentials: {
          password: gitOf(spec && 'source' in spec ? spec.source : undefined)?.credentials?.password,
        },
      },
    },
    repository: {
      credentials: {
        password: spec && 'repository' in spec ? spec.repository?.credentials?.password : undefined,
      },
    },
  }
}

/** A URL as stored by a Gilgal that still took credentials in it: whatever precedes `@` is not shown. */
function redactUrl(url: string): string {
  return url.replace(/^(https:\/\/|ssh:\/\/)[^/]*@/, '$1***@')
}
