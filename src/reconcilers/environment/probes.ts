import net from 'node:net'
import type { ContainerDetails } from '../../runtime/runtime.js'
import type { Verdict } from './model.js'

/** A revision's healthCheck as the manifest schema fills it in (DESIGN.md section 1). */
export interface HealthCheckSpec {
  http?: { path?: string }
  tcp?: Record<string, never>
  exec?: { command: string[] }
  none?: true
  intervalSeconds: number
  timeoutSeconds: number
  healthyThreshold: number
  failureThreshold: number
  startPeriodSeconds: number
}

interface Record_ {
  successes: number
  failures: number
  verdict: Verdict
  lastError: string | undefined
}

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
    check: HealthCheckSpec,
    now: number,
  ): Promise<{ verdict: Verdict; lastError?: string }> {
    const record = this.records.get(container.id) ?? {
      successes: 0,
      failures: 0,
      verdict: 'starting',
      lastError: undefined,
    }
    this.records.set(container.id, record)
    if (!container.running) return { verdict: record.verdict === 'healthy' ? 'unhealthy' : record.verdict }
    const error = await probeOnce(container, check)
    if (error === undefined) {
      record.successes++
      record.failures = 0
      if (record.successes >= check.healthyThreshold) record.verdict = 'healthy'
    } else {
      record.lastError = error
      const started = container.startedAt ? Date.parse(container.startedAt) : now
      const inStartPeriod = now - started < check.startPeriodSeconds * 1000
      if (!inStartPeriod) {
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

/** One probe: undefined when it passed, else why it failed. */
async function probeOnce(container: ContainerDetails, check: HealthCheckSpec): Promise<string | undefined> {
  if (check.none) return undefined
  if (check.exec) {
    if (container.dockerHealth === 'healthy') return undefined
    return container.dockerHealthOutput
      ? `exec: ${container.dockerHealthOutput}`
      : `exec: ${container.dockerHealth ?? 'no result yet'}`
  }
  if (!container.address) return 'the container has no address'
  const timeoutMs = check.timeoutSeconds * 1000
  if (check.tcp) return tcpProbe(container.address, timeoutMs)
  return httpProbe(container.address, check.http?.path ?? '/', timeoutMs)
}

/** What a failed connection means, in words (undici and the kernel name it in codes). */
const CONNECTION_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  UND_ERR_SOCKET: 'connection closed',
  EHOSTUNREACH: 'host unreachable',
}

async function httpProbe(
  address: { host: string; port: number },
  path: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const url = `http://${address.host}:${address.port}${path}`
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' })
    await response.body?.cancel()
    return response.status >= 200 && response.status < 400
      ? undefined
      : `GET ${path} answered ${response.status}`
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code
    const timedOut = (error as Error).name === 'TimeoutError'
    const reason = timedOut ? `no answer within ${timeoutMs} ms` : (CONNECTION_ERRORS[cause ?? ''] ?? cause)
    return `GET ${path} failed: ${reason ?? (error as Error).message}`
  }
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
    socket.once('error', (error: NodeJS.ErrnoException) => done(`tcp: ${error.code ?? error.message}`))
  })
}
