import http from 'node:http'
import net from 'node:net'
import type { HealthCheck } from '../../model/specs.js'
import type { ContainerDetails } from '../../runtime/runtime.js'
import type { Verdict } from './model.js'

interface Record_ {
  successes: number
  failures: number
  verdict: Verdict
  lastError: string | undefined
  /** The start these results belong to: a restarted container is judged afresh. */
  startedAt: string | undefined
  probedAt: number
  /** When a failure last counted toward `failureThreshold`. */
  countedAt: number
}

// Until a container first passes, it is probed this often (at most): a new revision is switched to
// as soon as it answers, not an interval later.
const STARTUP_PROBE_MS = 100

/**
 * Probe results per container, kept in memory (a restarted controller probes again from scratch:
 * it never trusts a verdict it did not observe). A container is healthy after `healthyThreshold`
 * consecutive successes and unhealthy after `failureThreshold` consecutive failures; failures in the
 * start period do not count.
 */
export class ProbeTracker {
  private readonly records = new Map<string, Record_>()

  async probe(
    container: ContainerDetails,
    check: HealthCheck,
    now: number,
  ): Promise<{ verdict: Verdict; lastError?: string }> {
    const known = this.records.get(container.id)
    const record = known && known.startedAt === container.startedAt ? known : freshRecord(container.startedAt)
    this.records.set(container.id, record)
    if (!container.running) return { verdict: record.verdict === 'healthy' ? 'unhealthy' : record.verdict }
    // Docker has not judged an exec check yet: its own start period and retries decide when it fails
    // (a Swarm task is `starting` from the moment it runs), so no failure counts here meanwhile.
    if (check.exec && container.dockerHealth === 'starting')
      return { verdict: record.verdict, lastError: 'exec: no result yet' }
    const interval = check.intervalSeconds * 1000
    const starting = record.verdict === 'starting' && record.successes === 0
    const period = starting ? Math.min(STARTUP_PROBE_MS, interval) : interval
    if (now - record.probedAt < period) return { verdict: record.verdict, lastError: record.lastError }
    record.probedAt = now
    const error = await probeOnce(container, check)
    if (error === undefined) {
      record.successes++
      record.failures = 0
      if (record.successes >= check.healthyThreshold) record.verdict = 'healthy'
    } else {
      record.lastError = error
      const started = container.startedAt ? Date.parse(container.startedAt) : now
      const inStartPeriod = now - started < check.startPeriodSeconds * 1000
      // Extra startup probes find readiness sooner; failures still count once per interval.
      if (!inStartPeriod && now - record.countedAt >= interval) {
        record.countedAt = now
        record.failures++
        record.successes = 0
        if (record.failures >= check.failureThreshold) record.verdict = 'unhealthy'
      }
    }
    return { verdict: record.verdict, lastError: record.lastError }
  }

  /** Drops the records of containers that are gone. */
  retain(ids: Set<string>): void {
    for (const id of this.records.keys()) if (!ids.has(id)) this.records.delete(id)
  }
}

function freshRecord(startedAt: string | undefined): Record_ {
  return {
    successes: 0,
    failures: 0,
    verdict: 'starting',
    lastError: undefined,
    startedAt,
    probedAt: 0,
    countedAt: 0,
  }
}

/** One probe: undefined when it passed, else why it failed. */
async function probeOnce(container: ContainerDetails, check: HealthCheck): Promise<string | undefined> {
  if (check.none) return undefined
  if (check.exec) {
    if (container.dockerHealth === 'healthy') return undefined
    return container.dockerHealthOutput
      ? `exec: ${container.dockerHealthOutput}`
      : `exec: ${container.dockerHealth ?? 'no result yet'}`
  }
  if (!container.address) return 'the container has no address'
  const timeoutMs = check.timeoutSeconds * 1000
  if (check.tcp) return tcpProbe(container.networkAddress ?? container.address, timeoutMs)
  return httpProbe(container.address, check.http?.path ?? '/', timeoutMs)
}

/** What a failed connection means, in words (undici and the kernel name it in codes). */
const CONNECTION_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  UND_ERR_SOCKET: 'connection closed',
  EHOSTUNREACH: 'host unreachable',
}

/**
 * One GET with node:http (not fetch, which refuses some ports an app may well use), no keep-alive;
 * 2xx and 3xx pass.
 */
function httpProbe(
  address: { host: string; port: number },
  path: string,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = http.get(
      { host: address.host, port: address.port, path, agent: false, timeout: timeoutMs },
      (response) => {
        response.resume()
        const status = response.statusCode ?? 0
        resolve(status >= 200 && status < 400 ? undefined : `GET ${path} answered ${status}`)
      },
    )
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
    request.on('error', (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'TIMEOUT' ? `no answer within ${timeoutMs} ms` : CONNECTION_ERRORS[error.code ?? '']
      resolve(`GET ${path} failed: ${reason ?? error.code ?? error.message}`)
    })
  })
}

function tcpProbe(address: { host: string; port: number }, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address.host, port: address.port, timeout: timeoutMs })
    const done = (error?: string) => {
      socket.destroy()
      resolve(error)
    }
    socket.once('connect', () => done())
    socket.once('timeout', () => done(`tcp: no connection within ${timeoutMs} ms`))
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(`tcp: ${CONNECTION_ERRORS[error.code ?? ''] ?? error.code ?? error.message}`),
    )
  })
}
