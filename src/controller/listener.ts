import pgListen, { type Subscriber } from 'pg-listen'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics/registry.js'
import { isCanonicalUuid } from '../model/ids.js'
import { isKind } from '../model/kinds.js'
import type { ObjectKey } from './keys.js'

// pg-listen is CommonJS with an ES default export: from ESM the function is `.default`.
const createSubscriber = pgListen.default

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
 * The dedicated LISTEN connection (pg-listen). Payloads are kept as text by pg-listen and parsed here,
 * so a bad payload is logged and counted, never mistaken for a connection failure. A paranoid check
 * (`select 1` on the idle connection) detects a half-open socket; reconnection backs off up to 5 s
 * between attempts and gives up after `retryTimeoutMs`.
 */
export class ChangeListener {
  private readonly subscriber: Subscriber<Record<string, string>>
  // pg-listen's reconnect loop does not stop on close(): events after stop() are dropped.
  private stopped = false

  constructor(private readonly options: ListenerOptions) {
    this.subscriber = createSubscriber(
      // The paranoid check must not hang on a half-open socket: a slow statement fails instead.
      { connectionString: options.url, keepAlive: true, query_timeout: 5_000 },
      {
        parse: (text: string) => text,
        paranoidChecking: options.paranoidCheckMs ?? 10_000,
        retryInterval: (attempt: number) => Math.min(100 * 2 ** attempt, 5_000),
        retryTimeout: options.retryTimeoutMs ?? 60_000,
      },
    )
    this.subscriber.notifications.on(CHANNEL, (payload: string) => this.receive(payload))
    this.subscriber.events.on('connected', () => {
      if (!this.stopped) options.onConnected()
    })
    this.subscriber.events.on('reconnect', (attempt: number) => {
      options.metrics?.listenReconnects.inc()
      options.log.warn({ attempt }, 'listen connection lost: reconnecting')
    })
    this.subscriber.events.on('error', (error: Error) => {
      if (!this.stopped) options.onFatal(error)
    })
  }

  async start(): Promise<void> {
    await this.subscriber.connect()
    await this.subscriber.listenTo(CHANNEL)
    this.options.onConnected()
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.subscriber.close()
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
