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
