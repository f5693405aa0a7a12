/**
 * Gilgal's error classes (docs/ARCHITECTURE.md, Errors, logs, metrics). Codes are stable strings that
 * clients may branch on; messages are for people. Drivers' errors are translated into these at the
 * edges (store/, runtime/).
 */
export class GilgalError extends Error {
  readonly code: string
  readonly status: number
  readonly title: string
  /** A 5xx whose message is safe to show (it names no internals), such as a missing engine. */
  readonly expose: boolean

  constructor(
    code: string,
    status: number,
    title: string,
    message: string,
    options?: { cause?: unknown; expose?: boolean },
  ) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    this.status = status
    this.title = title
    this.expose = options?.expose ?? status < 500
  }
}

export interface FieldError {
  path: string
  message: string
}

export class ValidationError extends GilgalError {
  readonly errors: FieldError[]
  constructor(message: string, errors: FieldError[] = [], code = 'GILGAL_VALIDATION_FAILED') {
    super(code, 422, 'Validation failed', message)
    this.errors = errors
  }
}

export class NotFoundError extends GilgalError {
  constructor(message: string, code = 'GILGAL_NOT_FOUND') {
    super(code, 404, 'Not found', message)
  }
}

export class ConflictError extends GilgalError {
  constructor(message: string, code = 'GILGAL_CONFLICT', options?: { cause?: unknown }) {
    super(code, 409, 'Conflict', message, options)
  }
}

export class UnauthorizedError extends GilgalError {
  constructor(message = 'Authentication required', code = 'GILGAL_UNAUTHORIZED') {
    super(code, 401, 'Unauthorized', message)
  }
}

export class ForbiddenError extends GilgalError {
  constructor(message: string, code = 'GILGAL_FORBIDDEN') {
    super(code, 403, 'Forbidden', message)
  }
}

/** Too many requests of one kind from one caller: answered 429 with `Retry-After`. */
export class RateLimitedError extends GilgalError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('GILGAL_RATE_LIMITED', 429, 'Too many requests', message)
  }
}

/** The database cannot be reached just now: answered 503 with `Retry-After`, safe to retry. */
export class UnavailableError extends GilgalError {
  readonly retryAfterSeconds = 2
  constructor(options?: { cause?: unknown }) {
    super('GILGAL_UNAVAILABLE', 503, 'Service unavailable', 'the database is unreachable; try again', {
      ...options,
      expose: true,
    })
  }
}

/** Refused configuration: the process prints the message as one line and exits. */
export class ConfigError extends GilgalError {
  constructor(message: string) {
    super('GILGAL_CONFIG_INVALID', 500, 'Invalid configuration', message)
  }
}

/** Controller only: retrying cannot help, so the work queue does not requeue it. */
export class TerminalError extends GilgalError {
  constructor(message: string, code = 'GILGAL_TERMINAL', options?: { cause?: unknown }) {
    super(code, 500, 'Terminal error', message, options)
  }
}

/** Turns anything thrown into an Error, so catch blocks can read fields safely (graphile-worker's coerceError). */
export function coerceError(thrown: unknown): Error & { code?: string } {
  if (thrown instanceof Error) return thrown
  const error: Error & { code?: string } = new Error(typeof thrown === 'string' ? thrown : String(thrown))
  return error
}
