import type { FastifyInstance } from 'fastify'
import { isDatabaseReachable, type Pool } from '../../store/pool.js'
import type { VersionInfo } from '../../version.js'

export interface HealthDeps {
  pool: Pool
  version: VersionInfo
}

const statusBody = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    checks: { type: 'object', additionalProperties: { type: 'string' } },
  },
  required: ['status'],
} as const

/** Liveness (`/health`: the process answers), readiness (`/readyz`: its dependencies answer), `/version`. */
export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get('/health', { schema: { response: { 200: statusBody } } }, async () => ({ status: 'ok' }))

  app.get(
    '/readyz',
    { schema: { response: { 200: statusBody, 503: statusBody } } },
    async (_request, reply) => {
      const database = (await isDatabaseReachable(deps.pool)) ? 'ok' : 'unreachable'
      const ready = database === 'ok'
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not ready', checks: { database } })
    },
  )

  app.get(
    '/version',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: {
              version: { type: 'string' },
              commit: { type: ['string', 'null'] },
              node: { type: 'string' },
            },
            required: ['version', 'commit', 'node'],
          },
        },
      },
    },
    async () => deps.version,
  )
}
