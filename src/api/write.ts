import type { FastifyRequest } from 'fastify'
import type { SecretKey } from '../config/secrets.js'
import { flushEvents, type WriteContext } from '../desired-state/write-context.js'
import { UnauthorizedError } from '../errors.js'
import type { SourcePolicy } from '../manifests/validate.js'
import type { Pool } from '../store/pool.js'
import { withTransaction } from '../store/tx.js'
import { findUserById } from '../store/users.js'

/** What the resource routes need: the database, the keys that seal secrets, which sources are allowed. */
export interface ResourceDeps {
  pool: Pool
  secretKeys: readonly SecretKey[]
  sourcePolicy: SourcePolicy
}

/** Runs `work` in one transaction as the calling user: every write path goes through here. */
export async function runWrite<T>(
  deps: ResourceDeps,
  request: FastifyRequest,
  triggerType: WriteContext['triggerType'],
  work: (ctx: WriteContext) => Promise<T>,
  { dryRun = false } = {},
): Promise<T> {
  return withTransaction(
    deps.pool,
    async (client) => {
      const user = await findUserById(client, request.principal.userId)
      if (!user) throw new UnauthorizedError('this account no longer exists')
      const actor = request.principal.apiKeyId ? `${user.username} (API key)` : user.username
      const ctx: WriteContext = {
        client,
        ownerId: user.id,
        actor,
        triggerType,
        secretKeys: deps.secretKeys,
        events: [],
      }
      const result = await work(ctx)
      await flushEvents(ctx)
      return result
    },
    { dryRun },
  )
}
