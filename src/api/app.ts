import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from '../log.js'
import type { Pool } from '../store/pool.js'
import type { VersionInfo } from '../version.js'
import { registerProblemHandler } from './plugins/problem.js'
import { healthRoutes } from './routes/health.js'

export interface AppDeps {
  pool: Pool
  log: Logger
  version: VersionInfo
}

const BODY_LIMIT_BYTES = 1024 * 1024

/**
 * Builds the HTTP API. It never calls listen(): main.ts does, and tests use `app.inject`. Request ids
 * come from `x-request-id` when a proxy sets one, otherwise a fresh UUID, and are echoed back.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger type is wider than Fastify's; the instance is the same root logger.
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    return503OnClosing: true,
  })
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  registerProblemHandler(app)
  await app.register(healthRoutes, { pool: deps.pool, version: deps.version })
  return app
}
