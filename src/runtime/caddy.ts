import { GilgalError } from '../errors.js'

/** Caddy's admin API refused a request or did not answer: a passing outage, retried with backoff. */
export class CaddyError extends GilgalError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('GILGAL_CADDY_UNAVAILABLE', 503, 'Caddy unavailable', detail, options)
  }
}

/** A Caddy JSON configuration: Gilgal renders `apps`, and keeps the rest (admin, logging, storage) as found. */
export type CaddyConfig = Record<string, unknown> & { apps?: Record<string, unknown> }

/** What the routes reconciler needs of Caddy: read the running configuration, load a whole new one. */
export interface ProxyAdmin {
  readonly url: string
  /** The configuration Caddy runs now (`{}` when it runs none). */
  readConfig(): Promise<CaddyConfig>
  /** Replaces the whole configuration; resolves once Caddy runs it (in-flight requests finish on the old). */
  load(config: CaddyConfig): Promise<void>
}

const TIMEOUT_MS = 10_000

/**
 * The admin API of one Caddy (`GILGAL_CADDY_ADMIN_URL`). `POST /load` is atomic: Caddy either runs the
 * new configuration or keeps the old one and answers with why.
 */
export function createCaddyAdmin(adminUrl: string): ProxyAdmin {
  const base = adminUrl.replace(/\/+$/, '')
  const send = (method: 'GET' | 'POST', path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let response: Response
    try {
      // Caddy closes its admin connections when a load replaces its config: a kept-alive socket
      // reused just then fails before any answer. Both calls are idempotent, so one retry is safe.
      response = await send(method, path, body).catch((error: unknown) => {
        if (!isClosedSocket(error)) throw error
        return send(method, path, body)
      })
    } catch (error) {
      throw new CaddyError(`Caddy's admin API at ${base} does not answer (${describe(error)})`, {
        cause: error,
      })
    }
    const text = await response.text()
    if (!response.ok)
      throw new CaddyError(`Caddy refused ${method} ${path} (${response.status}): ${caddyMessage(text)}`)
    return text.trim() ? (JSON.parse(text) as unknown) : null
  }
  return {
    url: base,
    async readConfig() {
      const config = await call('GET', '/config/')
      return config && typeof config === 'object' ? (config as CaddyConfig) : {}
    },
    async load(config) {
      await call('POST', '/load', config)
    },
  }
}

function caddyMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown }
    if (typeof parsed.error === 'string') return parsed.error
  } catch {
    // not JSON: quote it as it came
  }
  return text.trim().slice(0, 500)
}

function describe(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  return cause instanceof Error ? cause.message : String(cause)
}

/** A kept-alive connection the other side had closed: nothing was answered, so nothing was done twice. */
function isClosedSocket(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } }).cause
  return cause?.code === 'UND_ERR_SOCKET' || cause?.code === 'ECONNRESET'
}
