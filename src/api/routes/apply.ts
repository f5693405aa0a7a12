import type { FastifyInstance } from 'fastify'
import { applyManifests } from '../../desired-state/apply.js'
import { parseManifests } from '../../manifests/parse.js'
import { validateManifests } from '../../manifests/validate.js'
import { runWrite, type ResourceDeps } from '../write.js'
import { authErrors, authorized, problem } from '../schemas.js'

const YAML_TYPES = ['application/yaml', 'text/yaml', 'application/x-yaml']

const appliedItem = {
  type: 'object',
  properties: {
    kind: { type: 'string' },
    name: { type: 'string' },
    project: { type: 'string' },
    environment: { type: 'string' },
    action: { enum: ['created', 'configured', 'unchanged', 'deleted'] },
    revision: { type: 'integer' },
    diff: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          path: { type: 'string' },
          op: { type: 'string' },
          before: {},
          after: {},
          secret: { type: 'boolean' },
        },
      },
    },
  },
  required: ['kind', 'name', 'project', 'action'],
} as const

/**
 * `POST /api/apply`: one or many manifests (YAML or JSON), all validated first, then written in one
 * transaction or not at all. `dryRun` runs the very same transaction and rolls it back.
 */
export async function applyRoutes(app: FastifyInstance, deps: ResourceDeps): Promise<void> {
  // YAML arrives as text; parsing it (with alias limits) is the handler's job.
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_request, body, done) => done(null, body))

  app.post<{ Querystring: { dryRun: boolean; prune: boolean }; Body: unknown }>(
    '/apply',
    authorized(app, 'write', ['apply'], {
      description: 'Body: YAML documents (application/yaml) or JSON (a manifest or an array of them).',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          dryRun: { type: 'boolean', default: false },
          prune: { type: 'boolean', default: false },
        },
      },
      body: { type: ['string', 'object', 'array'] },
      response: {
        200: {
          type: 'object',
          properties: { dryRun: { type: 'boolean' }, items: { type: 'array', items: appliedItem } },
          required: ['dryRun', 'items'],
        },
        400: problem,
        409: problem,
        413: problem,
        422: problem,
        ...authErrors,
      },
    }),
    async (request) => {
      const { dryRun, prune } = request.query
      const manifests = validateManifests(parseManifests(request.body), deps.sourcePolicy)
      const items = await runWrite(deps, request, 'apply', (ctx) => applyManifests(ctx, manifests, prune), {
        dryRun,
      })
      return { dryRun, items: dryRun ? items : items.map(({ diff: _diff, ...item }) => item) }
    },
  )
}
