/**
 * The soak's HTTP client: every answer's status is kept (bench/session.ts throws on anything but
 * 2xx, and the soak must tell a race the API refuses from a failure), and each answer is classified.
 */

/** An answer's body, read as loosely as the other benches read theirs (bench/session.ts). */
export type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Answer {
  /** The HTTP status; 0 when no answer came (connection refused, timeout). */
  status: number
  body: Json
  /** The problem's `code` (RFC 9457 answers), or why no answer came. */
  code?: string
}

// A write waits for a row lock at most as long as another write holds it; a minute means it hangs.
const TIMEOUT_MS = 60_000
const FAILURES_KEPT = 20

/** What the soak did and what it was answered: the figures of the summary. */
export class Tally {
  readonly actions = new Map<string, number>()
  /** How actions went, beside their counts: a rollback with nothing to go back to, say. */
  readonly notes = new Map<string, number>()
  readonly answers = new Map<string, number>()
  /** Legitimate refusals of a race (a cancel of a revision that finished meanwhile), by code. */
  readonly refused = new Map<string, number>()
  /** Unexpected answers, the first few in words. */
  readonly failures: string[] = []
  failureCount = 0

  action(type: string): void {
    bump(this.actions, type)
  }

  note(what: string): void {
    bump(this.notes, what)
  }

  fail(message: string): void {
    this.failureCount++
    if (this.failures.length < FAILURES_KEPT) this.failures.push(message)
  }

  /**
   * 'ok' for 2xx; 'refused' for a 4xx whose code is one of `refusable` (what a race may bring);
   * anything else (5xx, another 4xx, no answer) is a failure, recorded with what was asked.
   */
  classify(answer: Answer, what: string, refusable: readonly string[] = []): 'ok' | 'refused' | 'failed' {
    if (answer.status >= 200 && answer.status < 300) return 'ok'
    if (answer.status >= 400 && answer.status < 500 && refusable.includes(answer.code ?? '')) {
      bump(this.refused, `${answer.status} ${answer.code}`)
      return 'refused'
    }
    const detail = typeof answer.body.detail === 'string' ? `: ${answer.body.detail}` : ''
    this.fail(`${what}: ${answer.status || 'no answer'} ${answer.code ?? ''}${detail}`)
    return 'failed'
  }
}

export function bump(counts: Map<string, number>, key: string, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by)
}

export type Call = (method: string, path: string, body?: unknown, type?: string) => Promise<Answer>

/** Calls the API at `base` with `apiKey`, counting every answer by status in `tally`. */
export function soakClient(base: string, apiKey: string, tally: Tally): Call {
  return async (method, path, body, type = 'application/json') => {
    const answer = await request(base, apiKey, method, path, body, type)
    bump(tally.answers, answer.status === 0 ? 'no answer' : String(answer.status))
    return answer
  }
}

async function request(
  base: string,
  apiKey: string,
  method: string,
  path: string,
  body: unknown,
  type: string,
): Promise<Answer> {
  try {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { 'content-type': type }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
    const parsed = parseBody(await response.text())
    return { status: response.status, body: parsed, code: parsed.code }
  } catch (error) {
    return { status: 0, body: {}, code: error instanceof Error ? error.name : String(error) }
  }
}

/** JSON, or the text itself as `detail` (a proxy's HTML error page, say): the status still counts. */
function parseBody(text: string): Json {
  try {
    return text ? (JSON.parse(text) as Json) : {}
  } catch {
    return { detail: text.slice(0, 200) }
  }
}
