import sseModule, { type SSEPluginOptions } from '@fastify/sse'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { waitForLogs } from '../../log-bus.js'
import { FINISHED_PHASES, isPhaseIn } from '../../model/phases.js'
import { findOwnedDeployment } from '../../store/deployments.js'
import { listDeploymentLogs, type LogLine } from '../../store/deployment-logs.js'
import { requireDeployment } from '../lookups.js'
import type { ResourceDeps } from '../write.js'
import { authErrors, authorized, problem, timestamp, uuidParams } from '../schemas.js'

// The package's module.exports is the fastify-plugin-wrapped plugin (its decorations reach this
// context); its typings describe the named, unwrapped export instead.
const sse = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>

const logLine = {
  title: 'DeploymentLogLine',
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    ts: timestamp,
    stream: { type: 'string' },
    level: { type: 'string' },
    message: { type: 'string' },
  },
} as const

// A follower in another process than the builder learns of new lines by this poll.
const POLL_MS = 1000

interface Query {
  after: number
  limit: number
  follow: boolean
}

/**
 * `GET /api/deployments/:id/logs`: the build and rollout log as JSON, or with `?follow=true` as
 * Server-Sent Events (@fastify/sse) that deliver lines as they are written (event `log`, id = seq, so
 * a reconnecting client resumes through Last-Event-ID) and end with event `end` once the revision has settled (Active, Superseded, Failed, Cancelled): its build, then its rollout.
 */
export async function deploymentLogRoutes(app: FastifyInstance, deps: ResourceDeps): Promise<void> {
  await app.register(sse, { heartbeatInterval: 15_000 })
  const { pool } = deps

  app.get<{ Params: { id: string }; Querystring: Query }>(
    '/deployments/:id/logs',
    {
      sse: 'manual',
      ...authorized(app, 'read', ['deployments'], {
        operationId: 'getDeploymentLogs',
        summary: "Read a deployment's build and rollout log, or follow it",
        params: uuidParams('id'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: 0, default: 0, description: 'Lines after this seq.' },
            limit: { type: 'integer', minimum: 1, maximum: 5000, default: 1000 },
            follow: {
              type: 'boolean',
              default: false,
              description:
                'true: Server-Sent Events, event `log` per line (id = seq: reconnect with Last-Event-ID to resume), then event `end` once the revision has settled.',
            },
          },
        },
        response: {
          200: {
            title: 'DeploymentLog',
            type: 'object',
            properties: { items: { type: 'array', items: logLine } },
          },
          400: problem,
          ...authErrors,
        },
      }),
    },
    async (request, reply) => {
      const { userId } = request.principal
      const deployment = await requireDeployment(pool, userId, request.params.id)
      const { after, limit, follow } = request.query
      if (!follow) return { items: await listDeploymentLogs(pool, deployment.id, after, limit) }
      const closed = new AbortController()
      reply.sse.onClose(() => closed.abort())
      // The client knows at once that it is following, even before the first line.
      reply.sse.sendHeaders()
      reply.raw.flushHeaders()
      let seq = Math.max(after, Number(reply.sse.lastEventId ?? 0) || 0)
      const send = async (lines: LogLine[]) => {
        for (const line of lines) await reply.sse.send({ id: String(line.seq), event: 'log', data: line })
        seq = lines.at(-1)?.seq ?? seq
      }
      while (!closed.signal.aborted) {
        const current = await findOwnedDeployment(pool, userId, deployment.id)
        await send(await listDeploymentLogs(pool, deployment.id, seq, 1000))
        if (!current || isPhaseIn(current.status.phase, FINISHED_PHASES)) {
          await send(await listDeploymentLogs(pool, deployment.id, seq, 5000)) // lines written meanwhile
          await reply.sse.send({ event: 'end', data: { phase: current?.status.phase ?? 'Deleted' } })
          break
        }
        await waitForLogs(deployment.id, POLL_MS, closed.signal)
      }
      reply.sse.close()
    },
  )
}
