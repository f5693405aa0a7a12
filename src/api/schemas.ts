import type { FastifyInstance, FastifySchema } from 'fastify'
import { schemaDocuments } from '../manifests/schemas.js'
import type { Kind } from '../model/kinds.js'
import { DEPLOYMENT_PHASES, ENVIRONMENT_PHASES } from '../model/phases.js'
import type { ApiKeyScope } from '../store/api-keys.js'
/**
 * Shared JSON Schemas of the HTTP API. Input schemas close every object (`additionalProperties:
 * false`); output schemas list what is sent, so fast-json-stringify never leaks an unlisted field.
 * A `title` that is a plain identifier names the schema in the OpenAPI document
 * (`#/components/schemas/<title>`, openapi-document.ts); validation and serialization ignore it.
 */
export const uuid = { type: 'string', format: 'uuid' } as const
export const timestamp = { type: 'string', format: 'date-time' } as const
export const nullableTimestamp = { type: ['string', 'null'], format: 'date-time' } as const

/** `:id` and `:projectId` accept a UUID or a name. */
export const idOrName = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9-]+$',
  description: 'A UUID or a name.',
} as const

export const problem = {
  title: 'Problem',
  description: 'RFC 9457 problem details, sent as application/problem+json.',
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string', description: 'Stable, e.g. GILGAL_PROJECT_NOT_FOUND.' },
    errors: {
      description: 'One entry per field that failed validation (400, 422).',
      type: 'array',
      items: {
        title: 'FieldError',
        type: 'object',
        properties: {
          path: { type: 'string', description: 'JSON pointer to the field, e.g. /spec/port.' },
          message: { type: 'string' },
        },
      },
    },
  },
} as const

/** Responses every authenticated route may give besides its own. */
export const authErrors = { 401: problem, 403: problem, 404: problem } as const

export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  cursor: { type: 'string', maxLength: 200, description: 'The nextCursor of the previous page.' },
} as const

export const labels = {
  description: 'Up to 32, free for your own use; values up to 63 characters.',
  type: 'object',
  maxProperties: 32,
  additionalProperties: { type: 'string', maxLength: 63 },
} as const

/** Where the manifest JSON Schemas (manifests/schemas/) are found by `$ref`. */
export const manifestSchema = (file: string, pointer = '') =>
  `https://gilgal.dev/schemas/${file}.v1.json${pointer}`

/**
 * The manifest schema documents, to add with app.addSchema, with every `$ref` made absolute: the same
 * schemas to ajv, but @fastify/swagger's resolver resolves a relative `common.v1.json#…` against the
 * host instead of the document's folder, and would leave it dangling in the OpenAPI document.
 */
export function sharedSchemas(): object[] {
  return schemaDocuments.map((document) => withAbsoluteRefs(structuredClone(document), document.$id))
}

function withAbsoluteRefs<T>(node: T, base: string): T {
  if (Array.isArray(node)) node.forEach((item) => withAbsoluteRefs(item, base))
  else if (typeof node === 'object' && node !== null) {
    const schema = node as { $ref?: unknown }
    if (typeof schema.$ref === 'string') schema.$ref = new URL(schema.$ref, base).href
    for (const value of Object.values(node)) withAbsoluteRefs(value, base)
  }
  return node
}

/** The OpenAPI document shows the value of this key in place of the schema that carries it. */
export const DOCUMENTED_AS = Symbol('documentedAs')

/** A schema the handler checks itself: `schema` for Fastify, `documented` for the OpenAPI document. */
export function checkedByHandler<T extends object>(schema: T, documented: object): T {
  return Object.assign(schema, { [DOCUMENTED_AS]: documented })
}

/**
 * A spec in a request body. Fastify only checks that it is an object: the handler validates it
 * against manifests/schemas without type coercion ("3000" is not a port), and its errors are 422.
 */
export function specOf(kind: Kind) {
  return checkedByHandler(
    { type: 'object' },
    { $ref: manifestSchema(kind.toLowerCase(), '#/definitions/spec') },
  )
}

const metadataOf = (properties: Record<string, object>) => ({
  type: 'object',
  additionalProperties: true,
  required: ['id', 'name', 'generation', 'createdAt', 'updatedAt'],
  properties: {
    id: uuid,
    name: { type: 'string' },
    ...properties,
    generation: { type: 'integer', description: 'Grows with every change of the desired state.' },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
})

/** A resource as answered: Kubernetes' shape. Spec and status are open objects (model/specs.ts). */
function resourceOf(kind: Kind, metadata: Record<string, object>, phases: readonly string[]) {
  return {
    title: kind,
    type: 'object',
    properties: {
      apiVersion: { type: 'string', enum: ['gilgal.dev/v1'] },
      kind: { type: 'string', enum: [kind] },
      metadata: metadataOf(metadata),
      spec: {
        description: `The ${kind}Spec as stored, defaults filled in; write-only values (secretEnv) are left out.`,
        type: 'object',
        additionalProperties: true,
      },
      status: {
        description: "The controller's record: observedGeneration, phase, reason, conditions.",
        type: 'object',
        additionalProperties: true,
        properties: { phase: { type: 'string', enum: phases } },
      },
    },
    required: ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
  } as const
}

const projectRef = { project: { type: 'string' }, projectId: uuid }
export const projectResource = resourceOf('Project', { labels, deletionRequestedAt: nullableTimestamp }, [
  'Deleting',
])
export const environmentResource = resourceOf(
  'Environment',
  { ...projectRef, labels, latestRevision: { type: 'integer' }, deletionRequestedAt: nullableTimestamp },
  ENVIRONMENT_PHASES,
)
export const deploymentResource = resourceOf(
  'Deployment',
  {
    name: { type: ['string', 'null'] },
    ...projectRef,
    environment: { type: 'string' },
    environmentId: uuid,
    revision: { type: 'integer' },
    trigger: { type: 'object', properties: { type: { type: 'string' }, by: { type: 'string' } } },
    cancelRequestedAt: nullableTimestamp,
  },
  DEPLOYMENT_PHASES,
)

export function listOf(resource: { title: string }) {
  return {
    title: `${resource.title}List`,
    type: 'object',
    properties: {
      items: { type: 'array', items: resource },
      nextCursor: { type: ['string', 'null'], description: 'Null on the last page.' },
    },
    required: ['items', 'nextCursor'],
  } as const
}

/**
 * `:id` of an environment or a deployment: its UUID. (Names are unique only within a project: by name,
 * it is found under its project.) A name answers 404, as an unknown id does.
 */
export const objectId = { ...idOrName, description: 'Its UUID (metadata.id).' } as const

/** Path parameters of environments and deployments found by UUID alone. */
export function uuidParams(name: string) {
  return { type: 'object', additionalProperties: false, required: [name], properties: { [name]: objectId } }
}

export function idParams(...names: string[]) {
  return {
    type: 'object',
    additionalProperties: false,
    required: names,
    properties: Object.fromEntries(names.map((name) => [name, idOrName])),
  }
}

export const readResponses = (resource: object) => ({ 200: resource, 400: problem, ...authErrors })
export const writeErrors = { 400: problem, 409: problem, 422: problem, ...authErrors } as const

/** PUT replaces: the spec is required, so leaving it out cannot wipe it. Labels left out are kept. */
export function replaceBody(kind: Kind) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['spec'],
    properties: { labels, spec: specOf(kind) },
  } as const
}

/**
 * How a caller authenticates (plugins/auth.ts): both are `Authorization: Bearer …`. An access token
 * may do anything; an API key only what its scope allows (`write` implies `read`).
 */
export const securitySchemes = {
  accessToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'The accessToken of POST /api/auth/login (15 minutes; renew with /api/auth/refresh).',
  },
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (gil_…) of POST /api/auth/api-keys; the list names the scope a route needs.',
  },
} as const

type SecurityRequirement = { [scheme in keyof typeof securitySchemes]?: string[] }

/** Only a login session: an API key is refused (403). */
export const sessionOnly: SecurityRequirement[] = [{ accessToken: [] }]
/** No authentication. */
export const isPublic = { security: [] as SecurityRequirement[] }

/** A route's auth hook, and its OpenAPI tags and security around its own schema. */
export function authorized(app: FastifyInstance, scope: ApiKeyScope, tags: string[], schema: FastifySchema) {
  const security: SecurityRequirement[] = [{ accessToken: [] }, { apiKey: [scope] }]
  return { onRequest: app.requireAuth(scope), schema: { tags, security, ...schema } }
}
