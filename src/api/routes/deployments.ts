import type { FastifyInstance } from 'fastify'
import { cancel, deploy, rollback } from '../../resources/deployments.js'
import { listDeployments } from '../../store/deployments.js'
import { listDeploymentLogs } from '../../store/logs.js'
import {
  presentDeployment,
  requireDeployment,
  requireProject,
  requireProjectEnvironment,
  runWrite,
  type ResourceDeps,
} from '../resources.js'
import {
  authErrors,
  idOrName,
  idParams,
  pageQuery,
  problem,
  readResponses,
  resource,
  resourceList,
  timestamp,
  writeErrors,
} from '../schemas.js'

const security = [{ bearer: [] }]
const tags = ['deployments']
const phase = {
  enum: ['Queued', 'Building', 'Deploying', 'Active', 'Superseded', 'Failed', 'Cancelled'],
} as const
const source = { $ref: 'https://gilgal.dev/schemas/common.v1.json#/definitions/source' }

const logLine = {
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    ts: timestamp,
    stream: { type: 'string' },
    level: { type: 'string' },
    message: { type: 'string' },
  },
} as const

/** Revisions: list, deploy, read, logs, rollback (a new revision) and cancel (a request). */
export async function deploymentRoutes(app: FastifyInstance, deps: ResourceDeps): Promise<void> {
  const { pool } = deps

  app.get<{
    Params: { projectId: string }
    Querystring: { environment?: string; phase?: string; limit: number; cursor?: string }
  }>(
    '/projects/:projectId/deployments',
    {
      onRequest: app.requireAuth('read'),
      schema: {
        tags,
        security,
        params: idParams('projectId'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { environment: idOrName, phase, ...pageQuery },
        },
        response: { 200: resourceList, 400: problem, ...authErrors },
      },
    },
    async (request) => {
      const { environment, phase: wanted, limit, cursor } = request.query
      const project = await requireProject(pool, request.principal.userId, request.params.projectId)
      const found =
        environment === undefined ? undefined : await requireProjectEnvironment(pool, project.id, environment)
      const page = await listDeployments(pool, {
        projectId: project.id,
        environmentId: found?.id,
        phase: wanted,
        limit,
        cursor,
      })
      return { items: page.items.map(presentDeployment), nextCursor: page.nextCursor }
    },
  )

  app.post<{ Params: { projectId: string }; Body: { environment: string; source?: never } }>(
    '/projects/:projectId/deployments',
    {
      onRequest: app.requireAuth('write'),
      schema: {
        tags,
        security,
        params: idParams('projectId'),
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['environment'],
          properties: { environment: idOrName, source },
        },
        response: { 201: resource, ...writeErrors },
      },
    },
    async (request, reply) => {
      const result = await runWrite(deps, request, 'api', async (ctx) => {
        const project = await requireProject(ctx.client, ctx.ownerId, request.params.projectId, true)
        const environment = await requireProjectEnvironment(
          ctx.client,
          project.id,
          request.body.environment,
          true,
        )
        return deploy(ctx, project, environment, { source: request.body.source })
      })
      return reply.code(201).send(presentDeployment(result.deployment))
    },
  )

  app.get<{ Params: { id: string } }>(
    '/deployments/:id',
    {
      onRequest: app.requireAuth('read'),
      schema: {
        tags,
        security,
        params: idParams('id'),
        response: readResponses,
      },
    },
    async (request) =>
      presentDeployment(await requireDeployment(pool, request.principal.userId, request.params.id)),
  )

  app.get<{ Params: { id: string }; Querystring: { after: number; limit: number } }>(
    '/deployments/:id/logs',
    {
      onRequest: app.requireAuth('read'),
      schema: {
        tags,
        security,
        params: idParams('id'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: 0, default: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 5000, default: 1000 },
          },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: logLine } } },
          400: problem,
          ...authErrors,
        },
      },
    },
    async (request) => {
      const deployment = await requireDeployment(pool, request.principal.userId, request.params.id)
      return {
        items: await listDeploymentLogs(pool, deployment.id, request.query.after, request.query.limit),
      }
    },
  )

  app.post<{ Params: { id: string } }>(
    '/deployments/:id/rollback',
    {
      onRequest: app.requireAuth('write'),
      schema: { tags, security, params: idParams('id'), response: { 201: resource, ...writeErrors } },
    },
    async (request, reply) => {
      const created = await runWrite(deps, request, 'rollback', async (ctx) =>
        rollback(ctx, await requireDeployment(ctx.client, ctx.ownerId, request.params.id)),
      )
      return reply.code(201).send(presentDeployment(created))
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/deployments/:id',
    {
      onRequest: app.requireAuth('write'),
      schema: { tags, security, params: idParams('id'), response: { 202: resource, ...writeErrors } },
    },
    async (request, reply) => {
      const cancelled = await runWrite(deps, request, 'api', async (ctx) =>
        cancel(ctx, await requireDeployment(ctx.client, ctx.ownerId, request.params.id, true)),
      )
      return reply.code(202).send(presentDeployment(cancelled))
    },
  )
}
