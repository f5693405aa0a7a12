import type { FastifyInstance, FastifySchema } from 'fastify'
import type { ApiKeyScope } from '../store/api-keys.js'
/**
 * Shared JSON Schemas of the HTTP API. Input schemas close every object (`additionalProperties:
 * false`); output schemas list what is sent, so fast-json-stringify never leaks an unlisted field.
 */
export const uuid = { type: 'string', format: 'uuid' } as const
export const timestamp = { type: 'string', format: 'date-time' } as const
export const nullableTimestamp = { type: ['string', 'null'], format: 'date-time' } as const

/** `:id` and `:projectId` accept a UUID or a name. */
export const idOrName = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' } as const

export const problem = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const

/** Responses every authenticated route may give besides its own. */
export const authErrors = { 401: problem, 403: problem, 404: problem } as const

export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  cursor: { type: 'string', maxLength: 200 },
} as const

/** A resource as answered: metadata, spec and status are open objects (their shapes: model/specs.ts). */
export const resource = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object', additionalProperties: true },
    spec: { type: 'object', additionalProperties: true },
    status: { type: 'object', additionalProperties: true },
  },
  required: ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
} as const

export const resourceList = {
  type: 'object',
  properties: { items: { type: 'array', items: resource }, nextCursor: { type: ['string', 'null'] } },
  required: ['items', 'nextCursor'],
} as const

export const labels = {
  type: 'object',
  maxProperties: 32,
  additionalProperties: { type: 'string', maxLength: 63 },
} as const

/** Specs are validated against manifests/schemas by the handler (no type coercion there). */
export const anySpec = { type: 'object' } as const

export function idParams(...names: string[]) {
  return {
    type: 'object',
    additionalProperties: false,
    required: names,
    properties: Object.fromEntries(names.map((name) => [name, idOrName])),
  }
}

export const readResponses = { 200: resource, 400: problem, ...authErrors } as const
export const deletionResponses = { 202: resource, 400: problem, ...authErrors } as const
export const writeErrors = { 400: problem, 409: problem, 422: problem, ...authErrors } as const

/** PUT replaces: the spec is required, so leaving it out cannot wipe it. Labels left out are kept. */
export const replaceBody = {
  type: 'object',
  additionalProperties: false,
  required: ['spec'],
  properties: { labels, spec: anySpec },
} as const

/** A route's auth hook, and its OpenAPI tags and bearer security around its own schema. */
export function authorized(app: FastifyInstance, scope: ApiKeyScope, tags: string[], schema: FastifySchema) {
  return { onRequest: app.requireAuth(scope), schema: { tags, security: [{ bearer: [] }], ...schema } }
}
