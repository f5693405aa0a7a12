import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import { ValidationError } from '../errors.js'
import type { PasswordTask } from './password-worker.js'

export const DEFAULT_BCRYPT_COST = 12
const MIN_BYTES = 8
// bcrypt silently ignores everything past 72 bytes; we refuse instead, so no one believes a long
// passphrase protects them more than it does.
export const MAX_PASSWORD_BYTES = 72

/** bcrypt hashing and verification on worker threads (piscina), never on the event loop. */
export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(password: string, hash: string): Promise<boolean>
  close(): Promise<void>
}

// Same extension as this file: .ts under tsx (tests, dev), .js once built.
const workerFile = fileURLToPath(
  new URL(`./password-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url),
)

export function createPasswordHasher(cost = DEFAULT_BCRYPT_COST): PasswordHasher {
  const pool = new Piscina<PasswordTask, string | boolean>({
    filename: workerFile,
    // One core is left to the event loop, so requests stay fast while logins queue for a thread.
    maxThreads: Math.max(1, os.availableParallelism() - 1),
    idleTimeout: 30_000,
  })
  return {
    hash: async (password) => (await pool.run({ op: 'hash', password, cost })) as string,
    verify: async (password, hash) => (await pool.run({ op: 'verify', password, hash })) as boolean,
    close: () => pool.destroy(),
  }
}

/** Refuses passwords outside 8–72 bytes (bytes, not characters: bcrypt counts UTF-8 bytes). */
export function assertPasswordAcceptable(password: string, field = '/password'): void {
  const bytes = Buffer.byteLength(password, 'utf8')
  if (bytes < MIN_BYTES || bytes > MAX_PASSWORD_BYTES) {
    const message =
      bytes > MAX_PASSWORD_BYTES
        ? `must be at most ${MAX_PASSWORD_BYTES} bytes (it is ${bytes}): bcrypt would silently ignore the rest`
        : `must be at least ${MIN_BYTES} bytes`
    throw new ValidationError(`password ${message}`, [{ path: field, message }], 'GILGAL_PASSWORD_INVALID')
  }
}
