import type { SecretKey } from '../../config/secrets.js'
import { openSecret, registryContext } from '../../crypto/secret-box.js'
import type { RegistryCredentials } from '../../model/specs.js'
import type { RegistryAuth } from '../../runtime/runtime.js'

/** The project's credentials for `server`, unsealed only here, at the moment the engine needs them. */
export function registryAuth(
  registries: readonly RegistryCredentials[],
  secretKeys: readonly SecretKey[],
  server: string,
): RegistryAuth | undefined {
  const entry = registries.find((registry) => registry.server === server)
  if (!entry) return undefined
  const password = entry.password ? openSecret(entry.password, secretKeys, registryContext(server)) : ''
  return { serveraddress: server, username: entry.username, password }
}
