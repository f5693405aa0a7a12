import sseModule, { type SSEPluginOptions } from '@fastify/sse'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { cancel, deploy, rollback } from '../../desired-state/deployments.js'
import { validateDeploySource } from '../../manifests/validate.js'
import { DEPLOYMENT_PHASES, type DeploymentPhase } from '../../model/phases.js'
import type { Source } from '../../model/specs.js'
import { findDeployment, listDeployments } from '../../store/deployments.js'
import {
  requireDeployment,
  requireProject,
  requireProjectDeployment,
  requireProjectEnvironment,
} from '../lookups.js'
import { presentDeployment } from '../present.js'
import { watchableRead, watchQuery } from '../watch-stream.js'
import { runWrite, type ResourceDeps } from '../write.js'
import {
  authErrors,
  authorized,
  idOrName,
  idParams,
  uuidParams,
  pageQuery,
  problem,
  readResponses,
  deploymentResource,
  listOf,
  manifestSchema,
  writeErrors,
} from '../schemas.js'

const tags = ['deployments']
const sse = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>
const phase = { enum: DEPLOYMENT_PHASES } as const
const source = { $ref: manifestSchema('common', '#/definitions/source') }

/** Revisions: list, deploy, read, logs, rollback (a new revision) and cancel (a request). */
export async function deploymentRoutes(app: FastifyInstance, deps: ResourceDeps): Promise<void> {
  await app.register(sse, { heartbeatInterval: 15_000 })
  const { pool } = deps

  app.get<{
    Params: { projectId: string }
    Querystring: { environment?: string; phase?: DeploymentPhase; limit: number; cursor?: string }
  }>(
    '/projects/:projectId/deployments',
    authorized(app, 'read', tags, {
      operationId: 'listDeployments',
      summary: "List a project's deployments (revisions), newest first",
      params: idParams('projectId'),
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { environment: idOrName, phase, ...pageQuery },
      },
      response: { 200: listOf(deploymentResource), 400: problem, ...authErrors },
    }),
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

  app.post<{ Params: { projectId: string }; Body: { environment: string; source?: Source } }>(
    '/projects/:projectId/deployments',
    authorized(app, 'write', tags, {
      operationId: 'deploy',
      summary: 'Deploy an environment: a new revision',
      description: "Without a source, the environment's own (its branch's latest commit, or its image).",
      params: idParams('projectId'),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['environment'],
        properties: { environment: idOrName, source },
      },
      response: { 201: deploymentResource, ...writeErrors },
    }),
    async (request, reply) => {
      const { source } = request.body
      validateDeploySource(source, deps.writePolicy)
      const result = await runWrite(deps, request, 'api', async (ctx) => {
        const project = await requireProject(ctx.client, ctx.ownerId, request.params.projectId, true)
        const environment = await requireProjectEnvironment(
          ctx.client,
          project.id,
          request.body.environment,
          true,
        )
        return deploy(ctx, project, environment, { source })
      })
      return reply.code(201).send(presentDeployment(result.deployment))
    },
  )

  // With ?watch=true, Server-Sent Events: the revision now, then at every change (watch-stream.ts).
  const answer = watchableRead(deps.watch, 'Deployment', (id) => findDeployment(pool, id), presentDeployment)

  app.get<{ Params: { projectId: string; name: string }; Querystring: { watch: boolean } }>(
    '/projects/:projectId/deployments/:name',
    {
      sse: 'manual',
      ...authorized(app, 'read', tags, {
        operationId: 'getProjectDeployment',
        summary: 'Read a deployment by project and name, or watch it',
        params: idParams('projectId', 'name'),
        querystring: watchQuery,
        response: readResponses(deploymentResource),
      }),
    },
    async (request, reply) => {
      const project = await requireProject(pool, request.principal.userId, request.params.projectId)
      return answer(
        await requireProjectDeployment(pool, project.id, request.params.name),
        request.query.watch,
        reply,
      )
    },
  )

  app.get<{ Params: { id: string }; Querystring: { watch: boolean } }>(
    '/deployments/:id',
    {
      sse: 'manual',
      ...authorized(app, 'read', tags, {
        operationId: 'getDeployment',
        summary: 'Read a deployment, or watch it',
        params: uuidParams('id'),
        querystring: watchQuery,
        response: readResponses(deploymentResource),
      }),
    },
    async (request, reply) =>
      answer(
        await requireDeployment(pool, request.principal.userId, request.params.id),
        request.query.watch,
        reply,
      ),
  )

  app.post<{ Params: { id: string } }>(
    '/deployments/:id/rollback',
    authorized(app, 'write', tags, {
      operationId: 'rollback',
      summary: "Roll back: a new revision with this one's image and config",
      params: uuidParams('id'),
      response: { 201: deploymentResource, ...writeErrors },
    }),
    async (request, reply) => {
      const created = await runWrite(deps, request, 'rollback', async (ctx) =>
        rollback(ctx, await requireDeployment(ctx.client, ctx.ownerId, request.params.id)),
      )
      return reply.code(201).send(presentDeployment(created))
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/deployments/:id',
    authorized(app, 'write', tags, {
      operationId: 'cancelDeployment',
      summary: 'Cancel a deployment that has not finished',
      description: 'Answers 202: the controller stops its build or rollout.',
      params: uuidParams('id'),
      response: { 202: deploymentResource, ...writeErrors },
    }),
    async (request, reply) => {
      const cancelled = await runWrite(deps, request, 'api', async (ctx) =>
        cancel(ctx, await requireDeployment(ctx.client, ctx.ownerId, request.params.id, true)),
      )
      return reply.code(202).send(presentDeployment(cancelled))
    },
  )
}
