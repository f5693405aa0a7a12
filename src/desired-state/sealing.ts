import type { SecretKey } from '../config/secrets.js'
import { mergeSealed, registryContext, secretEnvContext } from '../crypto/secret-box.js'
import type {
  EnvironmentManifestSpec,
  EnvironmentSpec,
  ProjectSpec,
  RegistryCredentials,
  RevisionSpec,
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
  return { ...spec, secretEnv: mergeSealed(stored?.secretEnv ?? {}, spec.secretEnv, keys, secretEnvContext) }
}

/** The spec to store for a validated Project spec: registry passwords sealed; one left out keeps its own. */
export function sealProjectSpec(
  spec: ProjectSpec,
  stored: ProjectSpec | undefined,
  keys: readonly SecretKey[],
): ProjectSpec {
  if (!spec.registries) return spec
  const registries = spec.registries.map((registry): RegistryCredentials => {
    const previous = stored?.registries?.find((r) => r.server === registry.server)
    const update = registry.password === undefined ? {} : { [registry.server]: registry.password }
    const sealed = mergeSealed(
      previous?.password ? { [registry.server]: previous.password } : {},
      update,
      keys,
      registryContext,
    )
    const password = sealed[registry.server]
    return { server: registry.server, username: registry.username, ...(password ? { password } : {}) }
  })
  return { ...spec, registries }
}

/** What a client may see of a spec: secret values become the list of names; passwords disappear. */
export function publicSpec(
  spec: ProjectSpec | EnvironmentSpec | RevisionSpec,
): Record<string, unknown> & { secretEnv?: string[] } {
  const visible: Record<string, unknown> = { ...spec }
  if ('secretEnv' in spec && spec.secretEnv !== undefined)
    visible.secretEnv = Object.keys(spec.secretEnv).sort()
  if ('registries' in spec && spec.registries) {
    visible.registries = spec.registries.map(({ server, username }) => ({ server, username }))
  }
  return visible
}
