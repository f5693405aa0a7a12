import { setTimeout as delay } from 'node:timers/promises'
import type { ApiClient } from './api.js'
import { CliError } from './api.js'
import { paint, phaseColour, type Output } from './output.js'
import { environmentOf, type Resource } from './resources.js'

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
 * CliError with the reason): the exit code a CI job can trust. Prints a line each time the picture
 * changes.
 */
export async function waitForRollout(
  api: ApiClient,
  target: RolloutTarget,
  timeoutMs: number,
  output: Output,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    const environment = await environmentOf(api, target)
    const revision = await revisionOf(api, target)
    const line = describe(environment, revision, output)
    if (line !== last) output.out(line)
    last = line
    const verdict = settle(environment, revision)
    if (verdict === 'done') return
    if (verdict) throw new CliError(verdict)
    if (Date.now() > deadline)
      throw new CliError(`timed out after ${Math.round(timeoutMs / 1000)} s: ${line}`)
    await delay(POLL_MS)
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
