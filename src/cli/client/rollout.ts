import { setTimeout as delay } from 'node:timers/promises'
import type { ApiClient } from './api.js'
import { CliError } from './api.js'
import { paint, phaseColour, type Output } from './output.js'
import { environmentOf, type Resource } from './resources.js'
import { readEvents } from './sse.js'

export interface RolloutTarget {
  project: string
  environment: string
  /** The revision to wait for; by default the environment's newest. */
  revision?: number
}

const POLL_MS = 500

/**
 * Follows a rollout until its revision is Active and the environment healthy at its desired replicas
 * (resolves), or until it fails, is cancelled, is passed over or `timeoutMs` runs out (throws a
 * CliError with the reason): the exit code a CI job can trust. It watches the environment and the
 * revision (Server-Sent Events), so it reacts as soon as the controller writes; a server that cannot
 * watch is polled. Prints a line each time the picture changes.
 */
export async function waitForRollout(
  api: ApiClient,
  target: RolloutTarget,
  timeoutMs: number,
  output: Output,
): Promise<void> {
  const state = { environment: await environmentOf(api, target), revision: await revisionOf(api, target) }
  let last = ''
  /** `done`, a reason to fail, or undefined while it is under way. */
  const look = () => {
    const line = describe(state.environment, state.revision, output)
    if (line !== last) output.out(line)
    last = line
    return settle(state.environment, state.revision)
  }
  const timeout = () => new CliError(`timed out after ${Math.round(timeoutMs / 1000)} s: ${last}`)
  const stop = new AbortController()
  const timer = setTimeout(() => stop.abort(timeout()), timeoutMs)
  try {
    const verdict =
      look() ??
      (await follow(api, state, look, stop.signal).catch(async (error: unknown) => {
        if (!(error instanceof WatchUnavailable)) throw error
        return poll(api, target, state, look, stop.signal)
      }))
    if (verdict !== 'done') throw new CliError(verdict)
  } catch (error) {
    throw stop.signal.aborted ? timeout() : error
  } finally {
    clearTimeout(timer)
    stop.abort()
  }
}

class WatchUnavailable extends Error {}

type State = { environment: Resource; revision: Resource }

/** Watches both objects; resolves with the first verdict `look` gives after a change. */
async function follow(
  api: ApiClient,
  state: State,
  look: () => string | undefined,
  signal: AbortSignal,
): Promise<string> {
  const watchOne = async (path: string, apply: (object: Resource) => void): Promise<string> => {
    const response = await api.stream(path, { watch: true }, signal).catch((error: unknown) => {
      throw error instanceof CliError && /cannot watch/.test(error.message) ? new WatchUnavailable() : error
    })
    for await (const event of readEvents(response.body!)) {
      if (event.event !== 'object') continue
      apply(JSON.parse(event.data) as Resource)
      const verdict = look()
      if (verdict) return verdict
    }
    throw new CliError(`the server ended the watch of ${path}`)
  }
  const watches = [
    watchOne(`/api/environments/${state.environment.metadata.id}`, (e) => (state.environment = e)),
    watchOne(`/api/deployments/${state.revision.metadata.id}`, (d) => (state.revision = d)),
  ]
  // The loser ends when the caller aborts both: that ending is expected, not an error to report.
  for (const watch of watches) watch.catch(() => undefined)
  return Promise.race(watches)
}

/** Without watches: ask every half second. */
async function poll(
  api: ApiClient,
  target: RolloutTarget,
  state: State,
  look: () => string | undefined,
  signal: AbortSignal,
): Promise<string> {
  for (;;) {
    await delay(POLL_MS, undefined, { signal })
    state.environment = await environmentOf(api, target)
    state.revision = await api.request<Resource>('GET', `/api/deployments/${state.revision.metadata.id}`)
    const verdict = look()
    if (verdict) return verdict
  }
}

async function revisionOf(api: ApiClient, target: RolloutTarget): Promise<Resource> {
  const path = `/api/projects/${encodeURIComponent(target.project)}/deployments`
  const { items } = await api.request<{ items: Resource[] }>('GET', path, {
    query: { environment: target.environment, limit: target.revision ? 100 : 1 },
  })
  const found = target.revision ? items.find((d) => d.metadata.revision === target.revision) : items[0]
  if (!found)
    throw new CliError(
      `${target.project}/${target.environment} has no revision${target.revision ? ` ${target.revision}` : ''}`,
    )
  return found
}

/** `done`, a reason to fail, or undefined while it is under way. */
function settle(environment: Resource, revision: Resource): string | undefined {
  const name = `revision ${String(revision.metadata.revision)}`
  const { phase, reason, message } = revision.status as { phase?: string; reason?: string; message?: string }
  const ready = environment.status.replicas as { ready: number; desired: number } | undefined
  if (phase === 'Active' && environment.status.phase === 'Available' && ready && ready.ready >= ready.desired)
    return 'done'
  if (phase === 'Failed') {
    const rolledBack = revision.status.rolledBack ? ', rolled back' : ''
    return `${name} failed: ${reason ?? 'Failed'}${rolledBack}${message ? `: ${message}` : ''}`
  }
  if (phase === 'Cancelled') return `${name} was cancelled`
  if (phase === 'Superseded' && !revision.status.readyAt)
    return `${name} was superseded by a newer revision before it ran`
  return undefined
}

function describe(environment: Resource, revision: Resource, output: Output): string {
  const phase = String(revision.status.phase ?? 'Queued')
  const ready = environment.status.replicas as { ready: number; desired: number } | undefined
  const env = String(environment.status.phase ?? 'Pending')
  return [
    `revision ${String(revision.metadata.revision)}: ${paint(output, phaseColour(phase), phase)}`,
    `environment ${paint(output, phaseColour(env), env)}`,
    ready ? `${ready.ready}/${ready.desired} ready` : '',
  ]
    .filter(Boolean)
    .join(', ')
}
