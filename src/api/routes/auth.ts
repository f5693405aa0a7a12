import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { assertPasswordAcceptable, MAX_PASSWORD_BYTES, type PasswordHasher } from '../../auth/passwords.js'
import { hashToken, newOpaqueToken } from '../../auth/tokens.js'
import { ForbiddenError, UnauthorizedError } from '../../errors.js'
import type { Pool, PoolClient } from '../../store/pool.js'
import * as tokens from '../../store/refresh-tokens.js'
import { withTransaction } from '../../store/tx.js'
import * as users from '../../store/users.js'
import { ACCESS_TOKEN_SECONDS, perUserLimit } from '../plugins/auth.js'
import { authorized, isPublic, problem, timestamp, uuid } from '../schemas.js'

export interface AuthRouteDeps {
  pool: Pool
  passwords: PasswordHasher
  rateLimit: { max: number; timeWindow: number }
  /** GILGAL_REGISTRATION: `closed` lets nobody register but the first user. */
  registration: 'open' | 'closed'
}

const REFRESH_TOKEN_DAYS = 30

const userOut = {
  title: 'User',
  type: 'object',
  properties: { id: uuid, email: { type: 'string' }, username: { type: 'string' }, createdAt: timestamp },
  required: ['id', 'email', 'username', 'createdAt'],
} as const

const sessionOut = {
  title: 'Session',
  type: 'object',
  properties: {
    user: userOut,
    accessToken: { type: 'string', description: 'A JWT: send it as Authorization: Bearer <accessToken>.' },
    refreshToken: { type: 'string', description: 'Single use: POST /api/auth/refresh answers a new pair.' },
    expiresIn: { type: 'integer', description: 'Seconds the access token is valid for.' },
  },
  required: ['user', 'accessToken', 'refreshToken', 'expiresIn'],
} as const

const email = { type: 'string', format: 'email', maxLength: 254 } as const
const username = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{1,31}$',
  description: '2–32 letters, digits, `_`, `.` or `-`.',
} as const
// Length in bytes is checked in code (8–72); this only bounds the work of parsing.
const password = {
  type: 'string',
  minLength: 1,
  maxLength: 1024,
  description: '8–72 bytes (UTF-8).',
} as const
const refreshBody = {
  type: 'object',
  additionalProperties: false,
  required: ['refreshToken'],
  properties: {
    refreshToken: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: 'From the last session answer.',
    },
  },
} as const

function publicUser(user: users.User) {
  return { id: user.id, email: user.email, username: user.username, createdAt: user.createdAt }
}

/** Register, login, refresh (rotating, with reuse detection), logout and the profile (`/api/auth`). */
export async function authRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  const { pool, passwords } = deps
  const limited = { rateLimit: deps.rateLimit }
  // Verifying against this when the email is unknown keeps login time the same either way.
  let decoyHash: Promise<string> | undefined

  async function issueSession(db: Pool | PoolClient, user: users.User, familyId: string = randomUUID()) {
    const refreshToken = newOpaqueToken()
    const expiresAt = new Date(Date.now() + REFRESH_TOKEN_DAYS * 86_400_000)
    await tokens.insertRefreshToken(db, {
      userId: user.id,
      familyId,
      tokenHash: hashToken(refreshToken),
      expiresAt,
    })
    const accessToken = app.jwt.sign({ sub: user.id })
    return { user: publicUser(user), accessToken, refreshToken, expiresIn: ACCESS_TOKEN_SECONDS }
  }

  app.post<{ Body: { email: string; username: string; password: string } }>(
    '/register',
    {
      config: limited,
      schema: {
        tags: ['auth'],
        operationId: 'register',
        summary: 'Create an account and log in',
        description: 'With GILGAL_REGISTRATION=closed, only the first user may register.',
        ...isPublic,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email', 'username', 'password'],
          properties: { email, username, password },
        },
        response: { 201: sessionOut, 400: problem, 409: problem, 422: problem, 429: problem },
      },
    },
    async (request, reply) => {
      assertPasswordAcceptable(request.body.password)
      // Checked before the costly hash too (and again under the lock below, for the race of the first).
      if (deps.registration === 'closed' && (await users.anyUserExists(pool))) throw registrationClosed()
      const passwordHash = await passwords.hash(request.body.password)
      const session = await withTransaction(pool, async (client) => {
        if (deps.registration === 'closed' && (await users.hasAnyUser(client))) throw registrationClosed()
        const user = await users.insertUser(client, { ...request.body, passwordHash })
        return issueSession(client, user)
      })
      return reply.code(201).send(session)
    },
  )

  app.post<{ Body: { email: string; password: string } }>(
    '/login',
    {
      config: limited,
      schema: {
        tags: ['auth'],
        operationId: 'login',
        summary: 'Log in: an access token and a refresh token',
        ...isPublic,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email', 'password'],
          properties: { email: { type: 'string', maxLength: 254 }, password },
        },
        response: { 200: sessionOut, 400: problem, 401: problem, 429: problem },
      },
    },
    async (request) => {
      // No account has a longer password (bcrypt ignores what follows byte 72, so registration refuses it):
      // checking one would let "P + anything" in as P.
      if (Buffer.byteLength(request.body.password) > MAX_PASSWORD_BYTES)
        throw new UnauthorizedError('wrong email or password', 'GILGAL_BAD_CREDENTIALS')
      const user = await users.findUserByEmail(pool, request.body.email)
      decoyHash ??= passwords.hash('decoy-password-never-matches')
      const matches = await passwords.verify(request.body.password, user?.passwordHash ?? (await decoyHash))
      if (!user || !matches) throw new UnauthorizedError('wrong email or password', 'GILGAL_BAD_CREDENTIALS')
      return issueSession(pool, user)
    },
  )

  app.post<{ Body: { refreshToken: string } }>(
    '/refresh',
    {
      config: limited,
      schema: {
        tags: ['auth'],
        operationId: 'refresh',
        summary: 'Trade a refresh token for a new access token and refresh token',
        description: 'A refresh token works once; presented again, it ends every session descended from it.',
        ...isPublic,
        body: refreshBody,
        response: { 200: sessionOut, 400: problem, 401: problem },
      },
    },
    async (request) => {
      const tokenHash = hashToken(request.body.refreshToken)
      const session = await withTransaction(pool, async (client) => {
        const presented = await tokens.findRefreshToken(client, tokenHash)
        if (!presented) return undefined
        await tokens.lockUserTokens(client, presented.userId)
        const consumed = await tokens.consumeRefreshToken(client, tokenHash)
        const user = consumed && (await users.findUserById(client, consumed.userId))
        if (user) return issueSession(client, user, consumed.familyId)
        // A used or revoked token presented again means it leaked: end every session descended from it.
        if (presented.usedAt || presented.revokedAt)
          await tokens.revokeTokenFamily(client, presented.familyId)
        return undefined
      })
      if (session) return session
      throw new UnauthorizedError(
        'refresh token is invalid, expired or already used',
        'GILGAL_INVALID_REFRESH_TOKEN',
      )
    },
  )

  app.post<{ Body: { refreshToken: string } }>(
    '/logout',
    {
      schema: {
        tags: ['auth'],
        operationId: 'logout',
        summary: 'Log out: end the session of a refresh token',
        ...isPublic,
        body: refreshBody,
        response: { 204: { type: 'null' }, 400: problem },
      },
    },
    async (request, reply) => {
      await withTransaction(pool, async (client) => {
        const known = await tokens.findRefreshToken(client, hashToken(request.body.refreshToken))
        if (!known) return
        await tokens.lockUserTokens(client, known.userId)
        await tokens.revokeTokenFamily(client, known.familyId)
      })
      return reply.code(204).send()
    },
  )

  app.get(
    '/me',
    authorized(app, 'read', ['auth'], {
      operationId: 'getMe',
      summary: 'Your account',
      response: { 200: userOut, 401: problem },
    }),
    async (request) => publicUser(await findCaller(pool, request.principal.userId)),
  )

  const passwordChecks = perUserLimit(app, 10, 15 * 60_000, 'password checks')
  app.patch<{ Body: { username?: string; password?: string; currentPassword: string } }>(
    '/me',
    authorized(app, 'write', ['auth'], {
      operationId: 'updateMe',
      summary: 'Change your username or password',
      description: 'A new password ends every session: log in again.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['currentPassword'],
        minProperties: 2,
        properties: {
          username,
          password: { ...password, description: 'The new password, 8–72 bytes.' },
          currentPassword: { ...password, description: 'Required for any change.' },
        },
      },
      response: { 200: userOut, 400: problem, 401: problem, 403: problem, 409: problem, 422: problem },
    }),
    async (request) => {
      const { username: newUsername, password: newPassword, currentPassword } = request.body
      await passwordChecks(request) // a stolen session must not become a password oracle
      const user = await findCaller(pool, request.principal.userId)
      if (!(await passwords.verify(currentPassword, user.passwordHash))) {
        throw new ForbiddenError('the current password is wrong', 'GILGAL_BAD_CREDENTIALS')
      }
      if (newPassword !== undefined) assertPasswordAcceptable(newPassword)
      const passwordHash = newPassword === undefined ? undefined : await passwords.hash(newPassword)
      return publicUser(
        await withTransaction(pool, async (client) => {
          const updated = await users.updateUser(client, user.id, { username: newUsername, passwordHash })
          // A new password ends every session: whoever knew the old one must log in again.
          if (passwordHash) {
            await tokens.lockUserTokens(client, user.id)
            await tokens.revokeUserTokens(client, user.id)
          }
          return updated
        }),
      )
    },
  )
}

function registrationClosed(): ForbiddenError {
  return new ForbiddenError(
    'registration is closed on this server: ask its operator for an account',
    'GILGAL_REGISTRATION_CLOSED',
  )
}

async function findCaller(pool: Pool, userId: string): Promise<users.UserWithPassword> {
  const user = await users.findUserById(pool, userId)
  if (!user) throw new UnauthorizedError('this account no longer exists')
  return user
}
