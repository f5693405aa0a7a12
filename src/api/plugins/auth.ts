import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { API_KEY_PREFIX, hashToken } from '../../auth/tokens.js'
import { ForbiddenError, RateLimitedError, UnauthorizedError } from '../../errors.js'
import { isUuid } from '../../model/ids.js'
import { useApiKey, type ApiKeyScope } from '../../store/api-keys.js'
import type { Pool } from '../../store/pool.js'

// @fastify/jwt reads a numeric expiresIn as seconds.
export const ACCESS_TOKEN_SECONDS = 15 * 60
const ISSUER = 'gilgal'
const AUDIENCE = 'gilgal-api'

/** Who is calling, and what they may do. JWT sessions may write; API keys have their own scope. */
export interface Principal {
  userId: string
  scope: ApiKeyScope
  apiKeyId?: string
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal
  }
  interface FastifyInstance {
    /** onRequest hook: authenticates the caller and requires `scope` (`write` implies `read`). */
    requireAuth(scope: ApiKeyScope): onRequestAsyncHookHandler
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string }
    user: { sub: string }
  }
}

/**
 * Registers @fastify/jwt (HS256 pinned both ways; issuer and audience required and checked, so a
 * token minted for another service or with `alg: none` is refused) and the `requireAuth` hook, which
 * accepts either an access token or an API key (`Authorization: Bearer gil_…`). Writes are limited
 * per user (`writesPerMinute`): one user cannot flood the database, the queue or the builders.
 */
export async function registerAuth(
  app: FastifyInstance,
  deps: { pool: Pool; jwtSecret: string; writesPerMinute: number },
): Promise<void> {
  await app.register(fastifyJwt, {
    secret: deps.jwtSecret,
    sign: { algorithm: 'HS256', iss: ISSUER, aud: AUDIENCE, expiresIn: ACCESS_TOKEN_SECONDS },
    verify: {
      algorithms: ['HS256'],
      allowedIss: ISSUER,
      allowedAud: AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iss', 'aud'],
    },
  })
  app.decorateRequest('principal', undefined as unknown as Principal)
  const writes = perUserLimit(app, deps.writesPerMinute, 60_000, 'writes')
  app.decorate('requireAuth', (scope: ApiKeyScope) => {
    return async (request: FastifyRequest) => {
      request.principal = await authenticate(request, deps.pool)
      if (scope === 'write' && request.principal.scope !== 'write') {
        throw new ForbiddenError('this API key is read-only', 'GILGAL_READ_ONLY_KEY')
      }
      if (scope === 'write') await writes(request)
    }
  })
}

async function authenticate(request: FastifyRequest, pool: Pool): Promise<Principal> {
  const header = request.headers.authorization ?? ''
  const match = /^Bearer\s+(\S+)$/i.exec(header)
  if (!match) throw new UnauthorizedError('send Authorization: Bearer <access token or API key>')
  const token = match[1]!
  if (token.startsWith(API_KEY_PREFIX)) {
    const key = await useApiKey(pool, hashToken(token))
    if (!key) throw new UnauthorizedError('invalid or revoked API key', 'GILGAL_INVALID_API_KEY')
    return { userId: key.userId, scope: key.scope, apiKeyId: key.id }
  }
  const payload = await request.jwtVerify<{ sub: string }>().catch(() => undefined)
  // Signed by us, so a sub that is not a user id is a bug or a forgery: refused, never a 500.
  if (!payload || !isUuid(payload.sub))
    throw new UnauthorizedError('invalid or expired access token', 'GILGAL_INVALID_TOKEN')
  return { userId: payload.sub, scope: 'write' }
}

/**
 * A check that refuses (429, with `Retry-After`) the request of a user who already made `max` of
 * them in `windowMs`. Call it once the principal is known.
 */
export function perUserLimit(app: FastifyInstance, max: number, windowMs: number, what: string) {
  const check = app.createRateLimit({
    max,
    timeWindow: windowMs,
    keyGenerator: (request) => `${what}:${request.principal.userId}`,
  })
  return async (request: FastifyRequest): Promise<void> => {
    const limit = await check(request)
    if (!limit.isAllowed && limit.isExceeded) {
      throw new RateLimitedError(
        `at most ${max} ${what} per ${windowMs / 1000} s for one user: try again in ${limit.ttlInSeconds} s`,
        limit.ttlInSeconds,
      )
    }
  }
}
