import sseModule, { type SSEPluginOptions } from '@fastify/sse'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { createEnvironment, deleteEnvironment, updateEnvironment } from '../../desired-state/environments.js'
import { validateEnvironmentSpec } from '../../manifests/validate.js'
import { findEnvironment, listEnvironments } from '../../store/environments.js'
import { orNotFound, requireEnvironment, requireProject, requireProjectEnvironment } from '../lookups.js'
import { presentEnvironment } from '../present.js'
import { watchableRead, watchQuery } from '../watch-stream.js'
import { runWrite, type ResourceDeps } from '../write.js'
import {
  authErrors,
  authorized,
  environmentResource,
  idParams,
  uuidParams,
  labels,
  listOf,
  manifestSchema,
  pageQuery,
  problem,
  readResponses,
  replaceBody,
  specOf,
  writeErrors,
} from '../schemas.js'

const name = { $ref: manifestSchema('common', '#/definitions/name') }
const tags = ['environments']
const sse = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>

/** Environments under `/api/projects/:projectId/environments` and `/api/environments/:id`. */
export async function environmentRoutes(app: FastifyInstance, deps: ResourceDeps): Promise<void> {
  await app.register(sse, { heartbeatInterval: 15_000 })
  const { pool } = deps

  app.get<{ Params: { projectId: string }; Querystring: { limit: number; cursor?: string } }>(
    '/projects/:projectId/environments',
    authorized(app, 'read', tags, {
      operationId: 'listEnvironments',
      summary: "List a project's environments",
      params: idParams('projectId'),
      querystring: { type: 'object', additionalProperties: false, properties: pageQuery },
      response: { 200: listOf(environmentResource), 400: problem, ...authErrors },
    }),
    async (request) => {
      const { projectId } = request.params
      const page = await listEnvironments(
        pool,
        request.principal.userId,
        projectId,
        request.query.limit,
        request.query.cursor,
      )
      const { items, nextCursor } = orNotFound(page, 'project', projectId)
      return { items: items.map(presentEnvironment), nextCursor }
    },
  )

  app.post<{
    Params: { projectId: string }
    Body: { name: string; labels?: Record<string, string>; spec?: unknown }
  }>(
    '/projects/:projectId/environments',
    authorized(app, 'write', tags, {
      operationId: 'createEnvironment',
      summary: 'Create an environment in a project',
      params: idParams('projectId'),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name, labels, spec: specOf('Environment') },
      },
      response: { 201: environmentResource, ...writeErrors },
    }),
    async (request, reply) => {
      const { name, labels } = request.body
      const spec = validateEnvironmentSpec(request.body.spec, deps.writePolicy)
      const result = await runWrite(deps, request, 'api', async (ctx) => {
        // Locked, so a deletion request committing meanwhile cannot miss the new environment.
        const project = await requireProject(ctx.client, ctx.ownerId, request.params.projectId, true)
        return createEnvironment(ctx, project, { name, labels, spec })
      })
      return reply.code(201).send(presentEnvironment(result.environment))
    },
  )

  // With ?watch=true, Server-Sent Events: the environment now, then at every change (watch-stream.ts).
  const answer = watchableRead(
    deps.watch,
    'Environment',
    (id) => findEnvironment(pool, id),
    presentEnvironment,
  )

  app.get<{ Params: { projectId: string; name: string }; Querystring: { watch: boolean } }>(
    '/projects/:projectId/environments/:name',
    {
      sse: 'manual',
      ...authorized(app, 'read', tags, {
        operationId: 'getProjectEnvironment',
        summary: 'Read an environment by project and name, or watch it',
        params: idParams('projectId', 'name'),
        querystring: watchQuery,
        response: readResponses(environmentResource),
      }),
    },
    async (request, reply) => {
      const project = await requireProject(pool, request.principal.userId, request.params.projectId)
      const environment = await requireProjectEnvironment(pool, project.id, request.params.name)
      return answer(environment, request.query.watch, reply)
    },
  )

  app.get<{ Params: { id: string }; Querystring: { watch: boolean } }>(
    '/environments/:id',
    {
      sse: 'manual',
      ...authorized(app, 'read', tags, {
        operationId: 'getEnvironment',
        summary: 'Read an environment, or watch it',
        params: uuidParams('id'),
        querystring: watchQuery,
        response: readResponses(environmentResource),
      }),
    },
    async (request, reply) => {
      const environment = await requireEnvironment(pool, request.principal.userId, request.params.id)
      return answer(environment, request.query.watch, reply)
    },
  )

  app.put<{ Params: { id: string }; Body: { labels?: Record<string, string>; spec?: unknown } }>(
    '/environments/:id',
    authorized(app, 'write', tags, {
      operationId: 'replaceEnvironment',
      summary: "Replace an environment's spec (and labels)",
      description: 'A changed spec makes a new revision, which the controller builds and rolls out.',
      params: uuidParams('id'),
      body: replaceBody('Environment'),
      response: { 200: environmentResource, ...writeErrors },
    }),
    async (request) => {
      const spec = validateEnvironmentSpec(request.body.spec, deps.writePolicy)
      const result = await runWrite(deps, request, 'api', async (ctx) => {
        const environment = await requireEnvironment(ctx.client, ctx.ownerId, request.params.id, true)
        const project = await requireProject(ctx.client, ctx.ownerId, environment.projectId)
        return updateEnvironment(ctx, project, environment, { labels: request.body.labels, spec })
      })
      return presentEnvironment(result.environment)
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/environments/:id',
    authorized(app, 'write', tags, {
      operationId: 'deleteEnvironment',
      summary: 'Request the deletion of an environment',
      description:
        'Answers 202 with the environment in phase Deleting; the controller removes its containers.',
      params: uuidParams('id'),
      response: { 202: environmentResource, 400: problem, ...authErrors },
    }),
    async (request, reply) => {
      const result = await runWrite(deps, request, 'api', async (ctx) =>
        deleteEnvironment(ctx, await requireEnvironment(ctx.client, ctx.ownerId, request.params.id, true)),
      )
      return reply.code(202).send(presentEnvironment(result.environment))
    },
  )
}
