import { createInterface } from 'node:readline'
import type Docker from 'dockerode'
import { LABELS, MANAGED_FILTER } from './labels.js'

/** The container events that can change what an environment needs (docs/ARCHITECTURE.md, The controller). */
export const WATCHED_ACTIONS = ['die', 'oom', 'health_status', 'destroy', 'stop'] as const
/** `node`: a Swarm node changed (down, back, drained): any replica may have moved. */
export type WatchedAction = (typeof WATCHED_ACTIONS)[number] | 'node'

export interface ContainerEvent {
  action: WatchedAction
  containerId: string
  environmentId: string | undefined
  /** Event time, Unix nanoseconds as Docker reports it. */
  timeNano: number
}

interface RawEvent {
  Action?: string
  id?: string
  timeNano?: number
  Actor?: { ID?: string; Attributes?: Record<string, string> }
}

/**
 * Opens the engine's event stream for managed containers since `sinceSeconds`, calling `onEvent` for
 * each watched action ("health_status: unhealthy" is reported as health_status). Resolves with a
 * function that closes the stream; `onEnd` fires once when the stream ends or fails for any reason.
 */
export async function watchContainerEvents(
  docker: Docker,
  sinceSeconds: number,
  onEvent: (event: ContainerEvent) => void,
  onEnd: (error?: Error) => void,
): Promise<() => void> {
  const filters = { type: ['container'], label: [MANAGED_FILTER], event: [...WATCHED_ACTIONS] }
  return followEvents(docker, sinceSeconds, filters, parseEvent, onEvent, onEnd)
}

/** A Swarm manager's node events, as `node` events (they name no environment). */
export async function watchNodeEvents(
  docker: Docker,
  sinceSeconds: number,
  onEvent: (event: ContainerEvent) => void,
  onEnd: (error?: Error) => void,
): Promise<() => void> {
  return followEvents(docker, sinceSeconds, { type: ['node'] }, parseNodeEvent, onEvent, onEnd)
}

async function followEvents(
  docker: Docker,
  sinceSeconds: number,
  filters: Record<string, string[]>,
  parse: (line: string) => ContainerEvent | undefined,
  onEvent: (event: ContainerEvent) => void,
  onEnd: (error?: Error) => void,
): Promise<() => void> {
  const stream = (await docker.getEvents({ since: sinceSeconds, filters })) as NodeJS.ReadableStream & {
    destroy(): void
  }
  let ended = false
  const end = (error?: Error) => {
    if (ended) return
    ended = true
    onEnd(error)
  }
  const lines = createInterface({ input: stream })
  lines.on('line', (line) => {
    const event = parse(line)
    if (event) onEvent(event)
  })
  lines.on('close', () => end())
  // readline re-emits its input's errors (a daemon that stops mid-stream: "aborted"): unheard, the
  // Interface's 'error' would crash the process instead of ending the stream, to be re-opened.
  lines.on('error', (error: Error) => end(error))
  stream.on('error', (error: Error) => end(error))
  return () => {
    ended = true
    stream.destroy()
  }
}

function parseEvent(line: string): ContainerEvent | undefined {
  let raw: RawEvent
  try {
    raw = JSON.parse(line) as RawEvent
  } catch {
    return undefined
  }
  const action = (raw.Action ?? '').split(':')[0] as (typeof WATCHED_ACTIONS)[number]
  if (!WATCHED_ACTIONS.includes(action)) return undefined
  return {
    action,
    containerId: raw.Actor?.ID ?? raw.id ?? '',
    environmentId: raw.Actor?.Attributes?.[LABELS.environment],
    timeNano: raw.timeNano ?? 0,
  }
}

function parseNodeEvent(line: string): ContainerEvent | undefined {
  try {
    const raw = JSON.parse(line) as RawEvent
    return {
      action: 'node',
      containerId: raw.Actor?.ID ?? '',
      environmentId: undefined,
      timeNano: raw.timeNano ?? 0,
    }
  } catch {
    return undefined
  }
}
