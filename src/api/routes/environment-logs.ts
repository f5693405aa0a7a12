import sseModule, { type SSEPluginOptions } from '@fastify/sse'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { GilgalError } from '../../errors.js'
import { LABELS } from '../../runtime/labels.js'
import type { RuntimeLogLine } from '../../runtime/logs.js'
import type { ManagedContainer, RuntimeReads } from '../../runtime/runtime.js'
import { requireEnvironment } from '../lookups.js'
import type { ResourceDeps } from '../write.js'
import { authErrors, authorized, problem, uuidParams } from '../schemas.js'

const sse = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>

const logLine = {
  title: 'ContainerLogLine',
  type: 'object',
  properties: {
    container: { type: 'string' },
    stream: { type: 'string' },
    at: { type: 'string' },
    message: { type: 'string' },
  },
} as const

interface Query {
  tail: number
  follow: boolean
}

type Line = RuntimeLogLine & { container: string }

/**
 * `GET /api/environments/:id/logs`: what the Active revision's containers write, each line tagged with
 * its container: the last `tail` lines of each as JSON, or with `?follow=true` as Server-Sent Events
 * (event `log`) that go on as the containers write. This is the one place the API reads from Docker
 * (it changes nothing there); a process without an engine answers 503.
 */
export async function environmentLogRoutes(
  app: FastifyInstance,
  deps: ResourceDeps & { runtime?: RuntimeReads },
): Promise<void> {
  await app.register(sse, { heartbeatInterval: 15_000 })
  app.get<{ Params: { id: string }; Querystring: Query }>(
    '/environments/:id/logs',
    {
      sse: 'manual',
      ...authorized(app, 'read', ['environments'], {
        operationId: 'getEnvironmentLogs',
        summary: "Read what the environment's running containers write, or follow it",
        description: 'The containers of the Active revision, each line tagged with its container.',
        params: uuidParams('id'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tail: {
              type: 'integer',
              minimum: 0,
              maximum: 5000,
              default: 100,
              description: 'The last lines of each container.',
            },
            follow: {
              type: 'boolean',
              default: false,
              description: 'true: Server-Sent Events (event `log`) that go on as the containers write.',
            },
          },
        },
        response: {
          200: {
            title: 'ContainerLog',
            type: 'object',
            properties: { items: { type: 'array', items: logLine } },
          },
          400: problem,
          503: problem,
          ...authErrors,
        },
      }),
    },
    async (request, reply) => {
      const environment = await requireEnvironment(deps.pool, request.principal.userId, request.params.id)
      const runtime = deps.runtime
      if (!runtime)
        throw new GilgalError(
          'GILGAL_NO_ENGINE',
          503,
          'No Docker engine',
          'this process has no Docker engine to read logs from',
          { expose: true },
        )
      const active = environment.status.activeDeployment?.id
      const containers = active ? await activeContainers(runtime, environment.id, active) : []
      const { tail, follow } = request.query
      if (!follow) return { items: await tails(runtime, containers, tail) }
      const closed = new AbortController()
      reply.sse.onClose(() => closed.abort())
      reply.sse.sendHeaders()
      reply.raw.flushHeaders()
      await Promise.all(
        containers.map(async (container) => {
          const lines = runtime.followLogs(container.id, { tail, follow: true, signal: closed.signal })
          for await (const line of lines) {
            await reply.sse.send({ event: 'log', data: { container: container.name, ...line } })
          }
        }),
      )
      reply.sse.close()
    },
  )
}

async function activeContainers(runtime: RuntimeReads, environmentId: string, deploymentId: string) {
  const containers = await runtime.listManaged({ environmentId })
  return containers.filter((c) => c.labels[LABELS.deployment] === deploymentId && c.state === 'running')
}

/** The last `tail` lines of each container, merged in time order. */
async function tails(runtime: RuntimeReads, containers: ManagedContainer[], tail: number): Promise<Line[]> {
  const signal = new AbortController().signal
  const lines: Line[] = []
  for (const container of containers) {
    for await (const line of runtime.followLogs(container.id, { tail, follow: false, signal }))
      lines.push({ container: container.name, ...line })
  }
  return lines.sort((a, b) => a.at.localeCompare(b.at))
}
