import sseModule, { type SSEPluginOptions } from '@fastify/sse'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { createProject, deleteProject, slugify, updateProject } from '../../desired-state/projects.js'
import { validateProjectSpec } from '../../manifests/validate.js'
import { listEvents } from '../../store/events.js'
import { listProjects } from '../../store/projects.js'
import { requireProject } from '../lookups.js'
import { presentProject } from '../present.js'
import { streamEvents } from '../watch-stream.js'
import { runWrite, type ResourceDeps } from '../write.js'
import {
  authErrors,
  authorized,
  idParams,
  labels,
  listOf,
  pageQuery,
  problem,
  projectResource,
  readResponses,
  replaceBody,
  specOf,
  timestamp,
  writeErrors,
} from '../schemas.js'

const tags = ['projects']
const sse = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>

const eventOut = {
  title: 'Event',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    object: {
      type: 'object',
      properties: {
        kind: { type: 'string' },
        id: { type: ['string', 'null'] },
        name: { type: ['string', 'null'] },
      },
    },
    type: { type: 'string' },
    reason: { type: 'string' },
    message: { type: 'string' },
    source: { type: 'string' },
    actor: { type: ['string', 'null'] },
    createdAt: timestamp,
  },
} as const

/** `/api/projects`: desired state only; deletion is a request the controller completes. */
export async function projectRoutes(app: FastifyInstance, deps: ResourceDeps): Promise<void> {
  await app.register(sse, { heartbeatInterval: 15_000 })
  const { pool } = deps

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/',
    authorized(app, 'read', tags, {
      operationId: 'listProjects',
      summary: 'List your projects',
      querystring: { type: 'object', additionalProperties: false, properties: pageQuery },
      response: { 200: listOf(projectResource), 400: problem, ...authErrors },
    }),
    async (request) => {
      const page = await listProjects(
        pool,
        request.principal.userId,
        request.query.limit,
        request.query.cursor,
      )
      return { items: page.items.map(presentProject), nextCursor: page.nextCursor }
    },
  )

  app.post<{ Body: { name: string; labels?: Record<string, string>; spec?: unknown } }>(
    '/',
    authorized(app, 'write', tags, {
      operationId: 'createProject',
      summary: 'Create a project',
      description: 'A name that is not a DNS label ("My Shop") becomes one (my-shop) and the display name.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: {
            type: 'string',
            minLength: 1,
            maxLength: 100,
            description: 'Becomes a DNS label: lowercase, dashes for spaces.',
          },
          labels,
          spec: specOf('Project'),
        },
      },
      response: { 201: projectResource, ...writeErrors },
    }),
    async (request, reply) => {
      const { name: typed, labels } = request.body
      const name = slugify(typed)
      const spec = validateProjectSpec(request.body.spec, deps.writePolicy)
      // "My Shop" is kept as the display name of the project it names, unless one was given.
      if (name !== typed) spec.displayName ??= typed
      const result = await runWrite(deps, request, 'api', (ctx) => createProject(ctx, { name, labels, spec }))
      return reply.code(201).send(presentProject(result.project))
    },
  )

  app.get<{ Params: { id: string } }>(
    '/:id',
    authorized(app, 'read', tags, {
      operationId: 'getProject',
      summary: 'Read a project',
      params: idParams('id'),
      response: readResponses(projectResource),
    }),
    async (request) =>
      presentProject(await requireProject(pool, request.principal.userId, request.params.id)),
  )

  app.put<{ Params: { id: string }; Body: { labels?: Record<string, string>; spec?: unknown } }>(
    '/:id',
    authorized(app, 'write', tags, {
      operationId: 'replaceProject',
      summary: "Replace a project's spec (and labels)",
      params: idParams('id'),
      body: replaceBody('Project'),
      response: { 200: projectResource, ...writeErrors },
    }),
    async (request) => {
      const spec = validateProjectSpec(request.body.spec, deps.writePolicy)
      const result = await runWrite(deps, request, 'api', async (ctx) =>
        updateProject(ctx, await requireProject(ctx.client, ctx.ownerId, request.params.id, true), {
          labels: request.body.labels,
          spec,
        }),
      )
      return presentProject(result.project)
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/:id',
    authorized(app, 'write', tags, {
      operationId: 'deleteProject',
      summary: 'Request the deletion of a project',
      description:
        'Answers 202 with the project in phase Deleting; the controller removes its environments and containers, then the row.',
      params: idParams('id'),
      response: { 202: projectResource, 400: problem, ...authErrors },
    }),
    async (request, reply) => {
      const result = await runWrite(deps, request, 'api', async (ctx) =>
        deleteProject(ctx, await requireProject(ctx.client, ctx.ownerId, request.params.id, true)),
      )
      return reply.code(202).send(presentProject(result.project))
    },
  )

  app.get<{ Params: { projectId: string }; Querystring: { limit: number; cursor?: string; watch: boolean } }>(
    '/:projectId/events',
    {
      sse: 'manual',
      ...authorized(app, 'read', tags, {
        operationId: 'listProjectEvents',
        summary: "List a project's events, newest first, or watch them",
        params: idParams('projectId'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...pageQuery,
            watch: {
              type: 'boolean',
              default: false,
              description:
                'true: Server-Sent Events, the recent events and then each new one (event `event`).',
            },
          },
        },
        response: {
          200: {
            title: 'EventList',
            type: 'object',
            properties: {
              items: { type: 'array', items: eventOut },
              nextCursor: { type: ['string', 'null'] },
            },
          },
          400: problem,
          ...authErrors,
        },
      }),
    },
    async (request, reply) => {
      const project = await requireProject(pool, request.principal.userId, request.params.projectId)
      if (!request.query.watch) return listEvents(pool, project.id, request.query.limit, request.query.cursor)
      const recent = async (limit: number) => (await listEvents(pool, project.id, limit)).items
      await streamEvents(reply, deps.watch, project.id, recent)
    },
  )
}
