import type { FastifyInstance } from 'fastify'
import { applyManifests } from '../../desired-state/apply.js'
import type { ManifestReader } from '../../manifests/reader.js'
import { runWrite, type ResourceDeps } from '../write.js'
import { authErrors, authorized, checkedByHandler, manifestSchema, problem } from '../schemas.js'

const YAML_TYPES = ['application/yaml', 'text/yaml', 'application/x-yaml']
const JSON_TYPE = 'application/json'

const manifest = { $ref: manifestSchema('manifest') }
/** The body as the OpenAPI document shows it: the reader (manifests/read.ts) parses and validates it. */
const manifestsBody = {
  content: {
    'application/yaml': { schema: manifest },
    'application/json': { schema: { oneOf: [manifest, { type: 'array', items: manifest }] } },
  },
}

const appliedItem = {
  title: 'AppliedObject',
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
export async function applyRoutes(
  app: FastifyInstance,
  deps: ResourceDeps & { reader: ManifestReader },
): Promise<void> {
  // Bodies arrive as text (here only: the parsers are this plugin's): reading them, with its limits,
  // happens on the reader's worker thread.
  const asText = (_request: unknown, body: string | Buffer, done: (error: null, body: string) => void) =>
    done(null, String(body))
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, asText)
  app.removeContentTypeParser(JSON_TYPE)
  app.addContentTypeParser(JSON_TYPE, { parseAs: 'string' }, asText)

  app.post<{ Querystring: { dryRun: boolean; prune: boolean }; Body: string }>(
    '/apply',
    authorized(app, 'write', ['apply'], {
      operationId: 'apply',
      summary: 'Apply manifests: all of them, in one transaction, or none',
      description:
        'Body: YAML documents separated by `---` (application/yaml, also text/yaml) or JSON (a manifest or an array of them). Every document is validated first; then all are written in one transaction.',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          dryRun: {
            type: 'boolean',
            default: false,
            description: 'Validate and answer with the field-level diff; write nothing.',
          },
          prune: {
            type: 'boolean',
            default: false,
            description:
              'Delete the environments of the projects in the request that the request no longer lists.',
          },
        },
      },
      body: checkedByHandler({ type: 'string' }, manifestsBody),
      response: {
        200: {
          title: 'ApplyResult',
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
      const format = request.headers['content-type']?.startsWith(JSON_TYPE) ? 'json' : 'yaml'
      const manifests = await deps.reader.read(
        request.body,
        format,
        deps.writePolicy,
        request.principal.userId,
      )
      const items = await runWrite(deps, request, 'apply', (ctx) => applyManifests(ctx, manifests, prune), {
        dryRun,
      })
      return { dryRun, items: dryRun ? items : items.map(({ diff: _diff, ...item }) => item) }
    },
  )
}
