import type { SecretKey } from '../../config/secrets.js'
import { gitContext, openSecret, registryContext } from '../../crypto/secret-box.js'
import type { GitCredentials, RegistryCredentials } from '../../model/specs.js'
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

/** A git remote's credentials, unsealed only here, for the one fetch that needs them. */
export function gitAuth(
  credentials: GitCredentials | undefined,
  secretKeys: readonly SecretKey[],
  url: string,
): { username: string; password: string } | undefined {
  if (!credentials?.password) return undefined
  return {
    username: credentials.username,
    password: openSecret(credentials.password, secretKeys, gitContext(url)),
  }
}
