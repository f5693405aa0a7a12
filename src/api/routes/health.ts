import type { FastifyInstance } from 'fastify'
import { isDatabaseReachable, type Pool } from '../../store/pool.js'
import type { VersionInfo } from '../../version.js'
import { isPublic } from '../schemas.js'

export interface HealthDeps {
  pool: Pool
  version: VersionInfo
  /** A process that runs the controller is ready only while its Docker engine answers too. */
  engineReachable?: () => Promise<boolean>
}

const statusBody = {
  title: 'HealthStatus',
  type: 'object',
  properties: {
    status: { type: 'string' },
    checks: { type: 'object', additionalProperties: { type: 'string' } },
  },
  required: ['status'],
} as const

// Public: probes and monitors call these without credentials.
const documented = (operationId: string, summary: string) => ({
  tags: ['health'],
  operationId,
  summary,
  ...isPublic,
})

/** Liveness (`/health`: the process answers), readiness (`/readyz`: its dependencies answer), `/version`. */
export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get(
    '/health',
    {
      schema: {
        ...documented('getHealth', 'Liveness: the process answers'),
        response: { 200: statusBody },
      },
    },
    async () => ({ status: 'ok' }),
  )

  app.get(
    '/readyz',
    {
      schema: {
        ...documented('getReadiness', 'Readiness: the database (and, with a controller, Docker) answers'),
        response: { 200: statusBody, 503: statusBody },
      },
    },
    async (_request, reply) => {
      const [database, docker] = await Promise.all([
        isDatabaseReachable(deps.pool),
        deps.engineReachable ? deps.engineReachable() : undefined,
      ])
      const checks = {
        database: database ? 'ok' : 'unreachable',
        ...(docker === undefined ? {} : { docker: docker ? 'ok' : 'unreachable' }),
      }
      const ready = Object.values(checks).every((check) => check === 'ok')
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks })
    },
  )

  app.get(
    '/version',
    {
      schema: {
        ...documented('getVersion', 'The server version'),
        response: {
          200: {
            title: 'Version',
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
