import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { ConfigError } from '../errors.js'
import type { Config } from './index.js'

export interface SecretKey {
  readonly id: string
  readonly key: Buffer
}

/** Signing and encryption keys. The first secret key encrypts; all of them decrypt (rotation). */
export interface Secrets {
  readonly jwtSecret: string
  readonly secretKeys: readonly SecretKey[]
}

const MIN_JWT_SECRET_BYTES = 32
const SECRET_KEY_BYTES = 32 // AES-256
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/

/**
 * Resolves the secrets: from the environment when given, else (outside production) from
 * `<dataDir>/secrets.json`, generated on first run with mode 0600 and reused after, so tokens and
 * encrypted values survive restarts. In production a missing secret is refused: a generated one would
 * silently differ between replicas.
 */
export async function loadSecrets(config: Config): Promise<Secrets> {
  const needsFile = config.jwtSecret === undefined || config.secretKeys === undefined
  if (needsFile && config.isProduction) {
    const missing = config.jwtSecret === undefined ? 'GILGAL_JWT_SECRET' : 'GILGAL_SECRET_KEYS'
    throw new ConfigError(
      `${missing} is required when NODE_ENV=production (dev secrets are never generated there)`,
    )
  }
  const stored = needsFile ? await readOrCreateDevSecrets(config.dataDir) : undefined
  const jwtSecret = config.jwtSecret ?? stored!.jwtSecret
  const secretKeys = config.secretKeys ?? stored!.secretKeys
  if (Buffer.byteLength(jwtSecret) < MIN_JWT_SECRET_BYTES) {
    throw new ConfigError(`GILGAL_JWT_SECRET is too short: expected at least ${MIN_JWT_SECRET_BYTES} bytes`)
  }
  const keys = parseSecretKeys(secretKeys)
  if (config.isProduction) assertRandomLooking(jwtSecret, keys)
  return Object.freeze({ jwtSecret, secretKeys: Object.freeze(keys) })
}

/** Parses `id:base64key[,id:base64key…]`, every key 32 bytes, ids unique. */
export function parseSecretKeys(list: string): SecretKey[] {
  const expected = 'a comma-separated list of id:base64key entries with 32-byte keys'
  const entries = list.split(',').map((entry) => entry.trim())
  const keys = entries.map((entry, index) => {
    const [id = '', encoded = '', ...rest] = entry.split(':')
    const key = Buffer.from(encoded, 'base64')
    const problem = !KEY_ID.test(id)
      ? 'its id must be 1-32 letters, digits, _ or -'
      : rest.length > 0 || key.length !== SECRET_KEY_BYTES
        ? `its key must be ${SECRET_KEY_BYTES} bytes of base64`
        : undefined
    if (problem)
      throw new ConfigError(
        `GILGAL_SECRET_KEYS entry ${index + 1} is invalid (${problem}): expected ${expected}`,
      )
    return { id, key }
  })
  const ids = new Set(keys.map((k) => k.id))
  if (ids.size !== keys.length)
    throw new ConfigError(`GILGAL_SECRET_KEYS has a repeated key id: expected ${expected}`)
  return keys
}

// A random secret of 32 bytes or more, in any encoding, uses many different characters (base64 about
// 26, hex 16 in 64); "aaaa…" or "abcabc…" use a handful. Keys are raw bytes: 32 random ones are
// nearly all different.
const MIN_DISTINCT_SECRET_CHARACTERS = 12
const MIN_DISTINCT_KEY_BYTES = 16

/** In production, secrets must look generated, not typed: a guessable signing key is anybody's session. */
function assertRandomLooking(jwtSecret: string, keys: readonly SecretKey[]): void {
  const advice = 'generate one, e.g. with `openssl rand -base64 48`'
  if (new Set(jwtSecret).size < MIN_DISTINCT_SECRET_CHARACTERS)
    throw new ConfigError(`GILGAL_JWT_SECRET does not look random (too few different characters): ${advice}`)
  for (const { id, key } of keys) {
    if (new Set(key).size < MIN_DISTINCT_KEY_BYTES)
      throw new ConfigError(
        `GILGAL_SECRET_KEYS key ${id} does not look random (too few different bytes): ${advice}`,
      )
  }
}

interface DevSecretsFile {
  jwtSecret: string
  secretKeys: string
}

async function readOrCreateDevSecrets(dataDir: string): Promise<DevSecretsFile> {
  const file = path.join(dataDir, 'secrets.json')
  const existing = await readSecretsFile(file)
  if (existing) return existing
  await mkdir(dataDir, { recursive: true })
  const generated: DevSecretsFile = {
    jwtSecret: randomBytes(48).toString('base64url'),
    secretKeys: `k1:${randomBytes(SECRET_KEY_BYTES).toString('base64')}`,
  }
  try {
    // 'wx' fails if another process created it first; then theirs wins and both agree.
    await writeFile(file, JSON.stringify(generated, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
    return generated
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return (await readSecretsFile(file))!
  }
}

async function readSecretsFile(file: string): Promise<DevSecretsFile | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const parsed = parseJson(text) as Partial<DevSecretsFile> | undefined
  if (typeof parsed?.jwtSecret !== 'string' || typeof parsed.secretKeys !== 'string') {
    throw new ConfigError(
      `${file} is damaged: expected jwtSecret and secretKeys (delete it to generate new dev secrets)`,
    )
  }
  return { jwtSecret: parsed.jwtSecret, secretKeys: parsed.secretKeys }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
