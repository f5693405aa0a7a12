import type { FastifyRequest } from 'fastify'
import type { SecretKey } from '../config/secrets.js'
import { assertWithinQuotas } from '../desired-state/quotas.js'
import { flushEvents, type WriteContext } from '../desired-state/write-context.js'
import { UnauthorizedError } from '../errors.js'
import type { WritePolicy } from '../manifests/validate.js'
import type { WatchHub } from './watch-hub.js'
import type { ReservedHostnames } from '../model/hostnames.js'
import type { Quotas } from '../model/limits.js'
import type { Pool } from '../store/pool.js'
import { readUsage } from '../store/spec-tables.js'
import { withTransaction } from '../store/tx.js'
import { findUserById, lockUser } from '../store/users.js'

/**
 * What the resource routes need: the database, the keys that seal secrets, what specs may ask, the
 * quotas, the hostnames no domain may take.
 */
export interface ResourceDeps {
  pool: Pool
  secretKeys: readonly SecretKey[]
  reservedHostnames: ReservedHostnames
  writePolicy: WritePolicy
  quotas: Quotas
  /** Follows objects for `?watch=true`; absent, watches answer 503. */
  watch?: WatchHub
}

/**
 * Runs `work` in one transaction as the calling user: every write path goes through here. What their
 * projects hold is measured before and after the work. The after is measured under a lock of the
 * user's row, held to the commit: two writes of one user then cannot both pass a quota, while their
 * work itself still runs side by side (locking at the start made a user's writes wait for each other:
 * 50 concurrent applies took three times as long).
 */
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
      const before = await readUsage(client, user.id)
      const actor = request.principal.apiKeyId ? `${user.username} (API key)` : user.username
      const ctx: WriteContext = {
        client,
        ownerId: user.id,
        actor,
        triggerType,
        secretKeys: deps.secretKeys,
        reservedHostnames: deps.reservedHostnames,
        events: [],
      }
      const result = await work(ctx)
      await lockUser(client, user.id)
      assertWithinQuotas(before, await readUsage(client, user.id), deps.quotas)
      await flushEvents(ctx)
      return result
    },
    { dryRun },
  )
}
