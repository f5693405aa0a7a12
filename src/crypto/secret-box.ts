import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import type { SecretKey } from '../config/secrets.js'
import { GilgalError } from '../errors.js'

/**
 * Encryption at rest for write-only values (secretEnv, registry passwords): AES-256-GCM with a random
 * 96-bit nonce, sealed as `gse1:<keyId>:<base64url(nonce | tag | ciphertext)>`. The key id lets keys
 * rotate: the first key encrypts, any listed key decrypts. `context` (e.g. the variable's name) is
 * authenticated data, so a stored value cannot be moved to another name and still decrypt.
 */
const VERSION = 'gse1'
const NONCE_BYTES = 12
const TAG_BYTES = 16

export function sealSecret(plaintext: string, keys: readonly SecretKey[], context: string): string {
  const key = keys[0]
  if (!key) throw new GilgalError('GILGAL_NO_SECRET_KEY', 500, 'No secret key', 'no secret key is configured')
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce).setAAD(Buffer.from(context))
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return `${VERSION}:${key.id}:${Buffer.concat([nonce, cipher.getAuthTag(), ciphertext]).toString('base64url')}`
}

export function openSecret(sealed: string, keys: readonly SecretKey[], context: string): string {
  const [version, keyId, payload] = sealed.split(':')
  const key = keys.find((candidate) => candidate.id === keyId)
  if (version !== VERSION || !payload) throw secretError(`a stored secret is malformed`)
  if (!key)
    throw secretError(
      `a stored secret was sealed with key "${keyId}", which GILGAL_SECRET_KEYS no longer lists`,
    )
  const bytes = Buffer.from(payload, 'base64url')
  const decipher = createDecipheriv('aes-256-gcm', key.key, bytes.subarray(0, NONCE_BYTES)).setAAD(
    Buffer.from(context),
  )
  decipher.setAuthTag(bytes.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES))
  try {
    return Buffer.concat([
      decipher.update(bytes.subarray(NONCE_BYTES + TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8')
  } catch {
    throw secretError(`a stored secret does not authenticate under key "${keyId}"`)
  }
}

export function isSealed(value: string): boolean {
  return value.startsWith(`${VERSION}:`)
}

function secretError(message: string): GilgalError {
  return new GilgalError('GILGAL_SECRET_UNREADABLE', 500, 'Secret unreadable', message)
}

/**
 * Applies a write-only update to sealed values: a string sets (a value equal to the stored one keeps
 * its sealed form, so an unchanged spec stays byte-identical and bumps nothing), null removes, and a
 * name the update leaves out keeps its value.
 */
export function mergeSealed(
  stored: Readonly<Record<string, string>>,
  update: Readonly<Record<string, string | null>> | undefined,
  keys: readonly SecretKey[],
  contextOf: (name: string) => string,
): Record<string, string> {
  const merged: Record<string, string> = { ...stored }
  for (const [name, value] of Object.entries(update ?? {})) {
    if (value === null) delete merged[name]
    else if (stored[name] === undefined || openSecret(stored[name], keys, contextOf(name)) !== value) {
      merged[name] = sealSecret(value, keys, contextOf(name))
    }
  }
  return merged
}

/** The authenticated context of an environment variable's sealed value: its name. */
export const secretEnvContext = (name: string) => `secretEnv:${name}`
/** The authenticated context of a registry password: the registry's host. */
export const registryContext = (server: string) => `registry:${server}`
/** The authenticated context of a git password: the remote's URL, so it never opens for another remote. */
export const gitContext = (url: string) => `git:${url}`
