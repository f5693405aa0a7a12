import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from '../../src/api/app.js'
import { createPasswordHasher, type PasswordHasher } from '../../src/auth/passwords.js'
import { parseConfig } from '../../src/config/index.js'
import { parseSecretKeys } from '../../src/config/secrets.js'
import type { Limits } from '../../src/model/limits.js'
import type { Pool } from '../../src/store/pool.js'
import { testLog } from './db.js'

export const testSecrets = Object.freeze({
  jwtSecret: 'test-secret-that-is-long-enough-for-hs256-0123456789',
  secretKeys: parseSecretKeys(`test:${Buffer.alloc(32, 3).toString('base64')}`),
})

/** The product's limits, with quotas and the pace of writes out of the way of tests that are not about them. */
export const testLimits: Limits = {
  ...parseConfig({}).limits,
  quotas: { projects: 1000, environments: 1000, replicas: 1000, builds: 1000 },
  writesPerMinute: 100_000,
}

export const testVersion = { version: '0.0.0-test', commit: null, node: process.version }

// Cost 4 keeps tests fast; the real cost (12) is exercised by the benchmark.
let sharedHasher: PasswordHasher | undefined
export function testPasswords(): PasswordHasher {
  sharedHasher ??= createPasswordHasher(4)
  return sharedHasher
}

export async function buildTestApp(pool: Pool, overrides: Partial<AppDeps> = {}): Promise<FastifyInstance> {
  const app = await buildApp({
    pool,
    log: testLog,
    version: testVersion,
    secrets: testSecrets,
    passwords: testPasswords(),
    authRateLimit: { max: 10_000, timeWindow: 60_000 },
    limits: testLimits,
    ...overrides,
  })
  app.addHook('onClose', async () => {
    await sharedHasher?.close()
    sharedHasher = undefined
  })
  return app
}

export interface TestUser {
  id: string
  email: string
  username: string
  password: string
  accessToken: string
  refreshToken: string
  /** `Authorization` header for this user's access token. */
  auth: { authorization: string }
}

let userCounter = 0

export async function registerUser(app: FastifyInstance, name = `user${++userCounter}`): Promise<TestUser> {
  const body = { email: `${name}@example.com`, username: name, password: `correct horse ${name}` }
  const response = await app.inject({ method: 'POST', url: '/api/auth/register', payload: body })
  if (response.statusCode !== 201) throw new Error(`register failed: ${response.statusCode} ${response.body}`)
  const session = response.json()
  return {
    ...body,
    id: session.user.id,
    accessToken: session.accessToken,
    refreshToken: session.refreshToken,
    auth: { authorization: `Bearer ${session.accessToken}` },
  }
}

/** Calls the API as `user` (JSON in, response out). */
export function client(app: FastifyInstance, user: { auth: { authorization: string } }) {
  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE') => (url: string, payload?: object) =>
    app.inject({ method, url, headers: user.auth, ...(payload === undefined ? {} : { payload }) })
  return {
    get: call('GET'),
    post: call('POST'),
    put: call('PUT'),
    patch: call('PATCH'),
    delete: call('DELETE'),
  }
}
