import { STATUS_CODES } from 'node:http'
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchemaValidationError,
} from 'fastify'
import {
  GilgalError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
  type FieldError,
} from '../../errors.js'
import { isDatabaseUnavailable } from '../../store/errors.js'

interface Problem {
  type: string
  title: string
  status: number
  detail: string
  instance: string
  code: string
  errors?: FieldError[]
}

// An answer names the first problems, not all of them: a request of 40,000 unknown keys would
// otherwise get an answer many times its own size.
const MAX_ERRORS = 50
const MAX_DETAIL = 2000

/**
 * The one error handler (RFC 9457 problem+json). Our errors carry their status and code; Fastify's
 * schema validation becomes 400 with one entry per field; a database that cannot be reached is a
 * 503 with `Retry-After`; anything else is a 500 whose details are logged, never sent.
 */
export function registerProblemHandler(app: FastifyInstance): void {
  app.setErrorHandler((thrown: FastifyError, request, reply) => {
    // A lost database is the client's to retry (503), not an internal error to hide (500).
    // Our own errors say what they are already (an engine or Caddy away is a 503 of its own).
    const lostDatabase = !(thrown instanceof GilgalError) && isDatabaseUnavailable(thrown)
    const error = lostDatabase ? new UnavailableError({ cause: thrown }) : thrown
    const problem = capped(toProblem(error as FastifyError, request))
    if (error instanceof UnavailableError) request.log.warn({ err: thrown }, 'database unavailable')
    else if (problem.status >= 500) request.log.error({ err: error }, 'request failed')
    if (error instanceof RateLimitedError || error instanceof UnavailableError)
      reply.header('retry-after', String(error.retryAfterSeconds))
    return sendProblem(reply, problem)
  })
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      type: 'about:blank',
      title: 'Not found',
      status: 404,
      detail: `no route for ${request.method} ${request.url.split('?')[0]}`,
      instance: request.url,
      code: 'GILGAL_ROUTE_NOT_FOUND',
    }),
  )
}

function toProblem(error: FastifyError, request: FastifyRequest): Problem {
  const base = { type: 'about:blank', instance: request.url }
  if (error instanceof GilgalError) {
    const errors = error instanceof ValidationError ? { errors: error.errors } : {}
    const detail = error.expose ? error.message : 'internal error'
    return { ...base, title: error.title, status: error.status, detail, code: error.code, ...errors }
  }
  if (error.validation) {
    const errors = error.validation.map((item) => describeSchemaError(error.validationContext ?? '', item))
    return {
      ...base,
      title: 'Bad request',
      status: 400,
      detail: error.message,
      code: 'GILGAL_BAD_REQUEST',
      errors,
    }
  }
  const status =
    error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
  if (status >= 500) {
    return {
      ...base,
      title: 'Internal server error',
      status,
      detail: 'internal error',
      code: 'GILGAL_INTERNAL',
    }
  }
  return {
    ...base,
    title: STATUS_CODES[status] ?? 'Bad request',
    status,
    detail: error.message,
    code: error.code ?? 'GILGAL_BAD_REQUEST',
  }
}

function capped(problem: Problem): Problem {
  const { errors, detail } = problem
  const more =
    errors && errors.length > MAX_ERRORS ? ` (and ${errors.length - MAX_ERRORS} more problems)` : ''
  return {
    ...problem,
    detail: detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL)}…${more}` : `${detail}${more}`,
    ...(errors ? { errors: errors.slice(0, MAX_ERRORS) } : {}),
  }
}

/** An unknown field is named in the path, so the client sees which one to remove. */
function describeSchemaError(context: string, item: FastifySchemaValidationError) {
  const unknownField = item.keyword === 'additionalProperties' ? item.params.additionalProperty : undefined
  if (typeof unknownField === 'string') {
    return { path: `${context}${item.instancePath}/${unknownField}`, message: 'is not a known field' }
  }
  return { path: `${context}${item.instancePath}`, message: item.message ?? 'is invalid' }
}

function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem)
}
