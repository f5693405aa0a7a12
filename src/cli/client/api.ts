import type { Credentials } from './credentials.js'

/** A failure the CLI reports in one line, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}

interface Problem {
  title?: string
  detail?: string
  code?: string
  errors?: Array<{ path: string; message: string }>
}

export interface RequestOptions {
  body?: unknown
  /** Sent as is when a string (a manifest), else as JSON. */
  type?: string
  query?: Record<string, string | number | boolean | undefined>
  /** A request that logs in: a 401 is its answer (wrong password), not a session to renew. */
  anonymous?: boolean
}

/** Keeps refreshed tokens (a session's access token lasts 15 minutes). */
export type SaveCredentials = (credentials: Credentials) => Promise<void>

/**
 * The REST API as the CLI uses it: JSON in and out, problem+json errors turned into one clear line, a
 * session refreshed once when its access token has expired.
 */
export class ApiClient {
  constructor(
    readonly url: string,
    private credentials: Credentials | undefined,
    private readonly save: SaveCredentials = async () => undefined,
  ) {}

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<T> {
    let response = await this.send(method, path, options)
    if (response.status === 401 && !options.anonymous && (await this.refresh()))
      response = await this.send(method, path, options)
    return this.read<T>(response, method, path, options.anonymous)
  }

  /** A streaming GET (Server-Sent Events): the response, its body unread. */
  async stream(path: string, query: RequestOptions['query'], signal: AbortSignal): Promise<Response> {
    let response = await this.send('GET', path, { query }, signal)
    if (response.status === 401 && (await this.refresh()))
      response = await this.send('GET', path, { query }, signal)
    if (!response.ok) await this.read(response, 'GET', path)
    return response
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    signal?: AbortSignal,
  ): Promise<Response> {
    const url = new URL(path, this.url)
    for (const [name, value] of Object.entries(options.query ?? {}))
      if (value !== undefined) url.searchParams.set(name, String(value))
    const token = this.credentials?.apiKey ?? this.credentials?.accessToken
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
    let body: string | undefined
    if (options.body !== undefined) {
      headers['content-type'] = options.type ?? 'application/json'
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
    }
    try {
      return await fetch(url, { method, headers, body, signal })
    } catch (error) {
      if (signal?.aborted) throw error
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message
      throw new CliError(
        `cannot reach Gilgal at ${this.url} (${cause}): is it running? GILGAL_URL names another server`,
      )
    }
  }

  private async read<T>(response: Response, method: string, path: string, anonymous = false): Promise<T> {
    if (response.status === 204) return undefined as T
    const text = await response.text()
    const parsed = text ? (safeJson(text) as T & Problem) : undefined
    if (response.ok) return parsed as T
    if (response.status === 401 && !anonymous) {
      const how = this.credentials ? 'the session expired or the key was revoked' : 'not logged in'
      throw new CliError(`${how} on ${this.url}: run gilgal login (or set GILGAL_TOKEN)`)
    }
    throw new CliError(describeProblem(parsed, response.status, `${method} ${path}`))
  }

  private refreshing: Promise<boolean> | undefined

  /**
   * A session whose access token expired gets a new one, once; an API key never expires. Requests
   * that find it expired together (a rollout's two watches) share one refresh: refresh tokens are
   * single use, so a second one would end the session.
   */
  private refresh(): Promise<boolean> {
    this.refreshing ??= this.renew().finally(() => (this.refreshing = undefined))
    return this.refreshing
  }

  private async renew(): Promise<boolean> {
    const refreshToken = this.credentials?.refreshToken
    if (!refreshToken || this.credentials?.apiKey) return false
    const response = await this.send('POST', '/api/auth/refresh', { body: { refreshToken } })
    if (!response.ok) return false
    const session = (await response.json()) as { accessToken: string; refreshToken: string }
    this.credentials = {
      ...this.credentials,
      accessToken: session.accessToken,
      refreshToken: session.refreshToken,
    }
    await this.save(this.credentials)
    return true
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return { detail: text.slice(0, 300) }
  }
}

/** `title: detail`, then one line per field error, as the server said them. */
function describeProblem(problem: Problem | undefined, status: number, what: string): string {
  const head = problem?.detail ?? problem?.title ?? `${what} answered ${status}`
  const fields = (problem?.errors ?? []).filter((e) => !head.includes(e.message))
  return [head, ...fields.map((e) => `  ${e.path}: ${e.message}`)].join('\n')
}
