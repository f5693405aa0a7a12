import { createHash, randomBytes } from 'node:crypto'

export const API_KEY_PREFIX = 'gil_'

/**
 * Opaque bearer secrets (refresh tokens, API keys) carry 256 random bits, so a fast hash is enough to
 * store them: there is nothing to brute-force, unlike a password.
 */
export function newOpaqueToken(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url')
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}
