import type { FastifyInstance } from 'fastify'
import { API_KEY_PREFIX, hashToken, newOpaqueToken } from '../../auth/tokens.js'
import { ForbiddenError, NotFoundError } from '../../errors.js'
import type { Principal } from '../plugins/auth.js'
import * as apiKeys from '../../store/api-keys.js'
import type { Pool } from '../../store/pool.js'
import {
  authErrors,
  authorized,
  nullableTimestamp,
  problem,
  sessionOnly,
  timestamp,
  uuid,
} from '../schemas.js'

const scope = {
  type: 'string',
  enum: ['read', 'write'],
  description: '`read` can only read; `write` can also change things.',
} as const
const keyOut = {
  title: 'ApiKey',
  type: 'object',
  properties: {
    id: uuid,
    name: { type: 'string' },
    scope,
    prefix: { type: 'string' },
    lastUsedAt: nullableTimestamp,
    createdAt: timestamp,
  },
  required: ['id', 'name', 'scope', 'prefix', 'lastUsedAt', 'createdAt'],
} as const

// Enough of the key to recognise it in a list, far too little to use it.
const VISIBLE_PREFIX_LENGTH = API_KEY_PREFIX.length + 6

/** Keys are managed from a login session: a leaked key cannot mint more keys or revoke the others. */
function requireSession(principal: Principal): void {
  if (principal.apiKeyId) {
    throw new ForbiddenError(
      'API keys cannot create or revoke API keys: log in to manage them',
      'GILGAL_SESSION_REQUIRED',
    )
  }
}

function present(key: apiKeys.ApiKey) {
  const { id, name, scope, prefix, lastUsedAt, createdAt } = key
  return { id, name, scope, prefix, lastUsedAt, createdAt }
}

/** `/api/auth/api-keys`: the key itself is shown once, at creation; only its hash is stored. */
export async function apiKeyRoutes(app: FastifyInstance, deps: { pool: Pool }): Promise<void> {
  app.get(
    '/',
    authorized(app, 'read', ['auth'], {
      operationId: 'listApiKeys',
      summary: 'List your API keys (never the keys themselves)',
      response: {
        200: { title: 'ApiKeyList', type: 'object', properties: { items: { type: 'array', items: keyOut } } },
        ...authErrors,
      },
    }),
    async (request) => ({
      items: (await apiKeys.listApiKeys(deps.pool, request.principal.userId)).map(present),
    }),
  )

  app.post<{ Body: { name: string; scope: apiKeys.ApiKeyScope } }>(
    '/',
    authorized(app, 'write', ['auth'], {
      operationId: 'createApiKey',
      summary: 'Create an API key: the answer is the only time the key is shown',
      description: 'Only from a login session: an API key cannot create API keys.',
      security: sessionOnly,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'scope'],
        properties: {
          name: {
            type: 'string',
            minLength: 1,
            maxLength: 100,
            description: 'What the key is for, e.g. ci.',
          },
          scope,
        },
      },
      response: {
        201: {
          title: 'NewApiKey',
          type: 'object',
          properties: { id: uuid, name: { type: 'string' }, scope, key: { type: 'string' } },
          required: ['id', 'name', 'scope', 'key'],
        },
        400: problem,
        ...authErrors,
      },
    }),
    async (request, reply) => {
      requireSession(request.principal)
      const key = newOpaqueToken(API_KEY_PREFIX)
      const stored = await apiKeys.insertApiKey(deps.pool, {
        userId: request.principal.userId,
        name: request.body.name,
        scope: request.body.scope,
        keyHash: hashToken(key),
        prefix: key.slice(0, VISIBLE_PREFIX_LENGTH),
      })
      return reply.code(201).send({ id: stored.id, name: stored.name, scope: stored.scope, key })
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/:id',
    authorized(app, 'write', ['auth'], {
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key',
      description: 'Only from a login session: an API key cannot revoke API keys.',
      security: sessionOnly,
      params: { type: 'object', additionalProperties: false, properties: { id: uuid }, required: ['id'] },
      response: { 204: { type: 'null' }, 400: problem, ...authErrors },
    }),
    async (request, reply) => {
      requireSession(request.principal)
      if (!(await apiKeys.revokeApiKey(deps.pool, request.principal.userId, request.params.id))) {
        throw new NotFoundError('no such API key', 'GILGAL_API_KEY_NOT_FOUND')
      }
      return reply.code(204).send()
    },
  )
}
