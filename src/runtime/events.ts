import { createInterface } from 'node:readline'
import type Docker from 'dockerode'
import { LABELS, MANAGED_FILTER } from './labels.js'

/** The container events that can change what an environment needs (docs/ARCHITECTURE.md, The controller). */
export const WATCHED_ACTIONS = ['die', 'oom', 'health_status', 'destroy', 'stop'] as const
export type WatchedAction = (typeof WATCHED_ACTIONS)[number]

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
  const stream = (await docker.getEvents({
    since: sinceSeconds,
    filters: { type: ['container'], label: [MANAGED_FILTER], event: [...WATCHED_ACTIONS] },
  })) as NodeJS.ReadableStream & { destroy(): void }
  let ended = false
  const end = (error?: Error) => {
    if (ended) return
    ended = true
    onEnd(error)
  }
  const lines = createInterface({ input: stream })
  lines.on('line', (line) => {
    const event = parseEvent(line)
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
  const action = (raw.Action ?? '').split(':')[0] as WatchedAction
  if (!WATCHED_ACTIONS.includes(action)) return undefined
  return {
    action,
    containerId: raw.Actor?.ID ?? raw.id ?? '',
    environmentId: raw.Actor?.Attributes?.[LABELS.environment],
    timeNano: raw.timeNano ?? 0,
  }
}
