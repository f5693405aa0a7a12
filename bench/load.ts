import { Agent, request } from 'node:http'
import autocannon from 'autocannon'

export interface Call {
  method?: string
  path: string
  /** Or per request: several users' requests, say. */
  headers?: Record<string, string> | ((index: number) => Record<string, string>)
  body?: (index: number) => string
}

/** Requests per second over `seconds` at `connections`, measured by autocannon (Fastify's own tool). */
export async function throughput(
  port: number,
  call: Call,
  connections = 50,
  seconds = 5,
  host = '127.0.0.1',
): Promise<number> {
  if (typeof call.headers === 'function') throw new Error('throughput takes fixed headers')
  const result = await autocannon({
    url: `http://${host}:${port}${call.path}`,
    method: (call.method ?? 'GET') as 'GET',
    headers: call.headers,
    connections,
    duration: seconds,
  })
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${call.path}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result.requests.average
}

export interface Latencies {
  count: number
  p50: number
  p99: number
}

/**
 * Per-request latency in milliseconds (microsecond resolution, which autocannon's histogram lacks)
 * from `concurrency` keep-alive loops for `seconds`, or until `stop` resolves.
 */
export async function latencies(
  port: number,
  call: Call,
  concurrency: number,
  seconds: number,
  host = '127.0.0.1',
): Promise<Latencies> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const samples: number[] = []
  const deadline = performance.now() + seconds * 1000
  let sent = 0
  const loop = async () => {
    while (performance.now() < deadline) {
      const started = performance.now()
      const status = await send(port, call, agent, sent++, host)
      if (status >= 300) throw new Error(`${call.path} answered ${status}`)
      samples.push(performance.now() - started)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  agent.destroy()
  return summarize(samples)
}

export function send(
  port: number,
  call: Call,
  agent: Agent,
  index: number,
  host = '127.0.0.1',
): Promise<number> {
  const body = call.body?.(index)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        path: call.path,
        method: call.method ?? 'GET',
        headers: typeof call.headers === 'function' ? call.headers(index) : call.headers,
        agent,
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

export function summarize(samples: number[]): Latencies {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
  return { count: sorted.length, p50: at(0.5), p99: at(0.99) }
}
