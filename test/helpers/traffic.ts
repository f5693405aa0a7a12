import { Agent, request } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'

export interface TrafficReport {
  requests: number
  /** Errors and answers that were not 2xx, each counted. */
  failures: number
  /** A few of the failures, to say what went wrong. */
  failureSamples: string[]
  answers: Map<string, number>
  perSecond: number
  /**
   * Requests sent again because the kept-alive connection they went out on was closed before any
   * answer (a configuration reload closes idle connections): RFC 9112 section 9.3.1 lets a client
   * retry those, as browsers do and Node's docs advise (`request.reusedSocket`). Never counted as
   * failures; always reported.
   */
  staleConnectionRetries: number
}

/**
 * A client that sends GETs through Caddy to `hostname` (Host header) at about `ratePerSecond`, over
 * keep-alive connections, until stopped: what a browser or an uptime checker sees during a rollout.
 */
export function sendTraffic(
  port: number,
  hostname: string,
  ratePerSecond = 250,
  workers = 5,
  /** The address the proxy listens on. */
  address = '127.0.0.1',
) {
  const agent = new Agent({ keepAlive: true, maxSockets: workers })
  const report: TrafficReport = {
    requests: 0,
    failures: 0,
    failureSamples: [],
    answers: new Map(),
    perSecond: 0,
    staleConnectionRetries: 0,
  }
  const intervalMs = (1000 * workers) / ratePerSecond
  const started = performance.now()
  let sending = true
  const fail = (why: string) => {
    report.failures++
    if (report.failureSamples.length < 5) report.failureSamples.push(why)
  }
  const worker = async () => {
    while (sending) {
      const sent = performance.now()
      try {
        const onStaleRetry = () => report.staleConnectionRetries++
        const { status, body } = await get(port, hostname, { agent, onStaleRetry, address })
        report.answers.set(body, (report.answers.get(body) ?? 0) + 1)
        if (status < 200 || status > 299) fail(`${status} ${body.slice(0, 80)}`)
      } catch (error) {
        fail((error as Error).message)
      }
      report.requests++
      await delay(Math.max(0, intervalMs - (performance.now() - sent)))
    }
  }
  const running = Promise.all(Array.from({ length: workers }, worker))
  return {
    report,
    async stop(): Promise<TrafficReport> {
      sending = false
      await running
      agent.destroy()
      report.perSecond = report.requests / ((performance.now() - started) / 1000)
      return report
    },
  }
}

export interface Answer {
  status: number
  body: string
}

export interface GetOptions {
  path?: string
  /** Keeps connections alive between requests; without it, each request has a connection of its own. */
  agent?: Agent
  onStaleRetry?: () => void
  /** The address the proxy listens on (default 127.0.0.1). */
  address?: string
}

/** One GET through the proxy, by hostname. */
export async function get(port: number, hostname: string, options: GetOptions = {}): Promise<Answer> {
  const path = options.path ?? '/'
  try {
    return await getOnce(port, hostname, path, options.agent, options.address)
  } catch (error) {
    if (!(error instanceof StaleConnectionError)) throw error
    options.onStaleRetry?.()
    // On a new connection: the pool's other idle ones were most likely closed by the same reload.
    return getOnce(port, hostname, path, undefined, options.address)
  }
}

class StaleConnectionError extends Error {}

function getOnce(
  port: number,
  hostname: string,
  path: string,
  agent: Agent | undefined,
  address = '127.0.0.1',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false
    const options = { host: address, port, path, headers: { host: hostname }, agent: agent ?? false }
    const req = request(options, (res) => {
      answered = true
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')))
    req.on('error', (error: NodeJS.ErrnoException) => {
      // Closed before any answer, on a connection that had served before: the keep-alive race.
      const stale = req.reusedSocket && !answered && error.code === 'ECONNRESET'
      reject(stale ? new StaleConnectionError(error.message) : error)
    })
    req.end()
  })
}
