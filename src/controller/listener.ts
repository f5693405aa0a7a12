import type { Logger } from '../log.js'
import type { Metrics } from '../metrics/registry.js'
import { isCanonicalUuid } from '../model/ids.js'
import { isKind } from '../model/kinds.js'
import { listen, type ListenConnection } from '../store/listen.js'
import type { ObjectKey } from './keys.js'

export const CHANNEL = 'gilgal_changes'

export interface Change {
  key: ObjectKey
  /** The trigger's clock, epoch seconds, when the change was made. */
  at?: number
}

/** A `gilgal_changes` payload as a work-queue key, or undefined when it is not one of ours. */
export function parseChange(payload: string): Change | undefined {
  let value: unknown
  try {
    value = JSON.parse(payload)
  } catch {
    return undefined
  }
  const { kind, id, at } = (value ?? {}) as { kind?: unknown; id?: unknown; at?: unknown }
  if (!isKind(kind) || !isCanonicalUuid(id)) return undefined
  return { key: { kind, id }, at: typeof at === 'number' ? at : undefined }
}

export interface ListenerOptions {
  url: string
  log: Logger
  metrics?: Metrics
  onChange(change: Change): void
  /** After the first connect and every reconnect: the caller resyncs, since notifications sent while we
   * were away are gone. */
  onConnected(): void
  /** Reconnecting gave up: the process must exit (a supervisor restarts it) rather than run deaf. */
  onFatal(error: Error): void
  paranoidCheckMs?: number
  retryTimeoutMs?: number
}

/**
 * The controller's LISTEN connection on `gilgal_changes` (store/listen.ts). Payloads are parsed here,
 * so a bad payload is logged and counted, never mistaken for a connection failure.
 */
export class ChangeListener {
  private readonly connection: ListenConnection

  constructor(private readonly options: ListenerOptions) {
    this.connection = listen({
      url: options.url,
      channel: CHANNEL,
      onPayload: (payload) => this.receive(payload),
      onConnected: () => options.onConnected(),
      onReconnect: (attempt) => {
        options.metrics?.listenReconnects.inc()
        options.log.warn({ attempt }, 'listen connection lost: reconnecting')
      },
      onFatal: (error) => options.onFatal(error),
      paranoidCheckMs: options.paranoidCheckMs,
      retryTimeoutMs: options.retryTimeoutMs,
    })
  }

  start(): Promise<void> {
    return this.connection.start()
  }

  stop(): Promise<void> {
    return this.connection.stop()
  }

  private receive(payload: string): void {
    const change = parseChange(payload)
    if (!change) {
      this.options.metrics?.listenBadPayloads.inc()
      this.options.log.warn({ payload: payload.slice(0, 200) }, 'ignored a notification that is not a change')
      return
    }
    if (change.at !== undefined)
      this.options.metrics?.notifyLag.observe(Math.max(0, Date.now() / 1000 - change.at))
    this.options.onChange(change)
  }
}
