import pgListen, { type Subscriber } from 'pg-listen'

// pg-listen is CommonJS with an ES default export: from ESM the function is `.default`.
const createSubscriber = pgListen.default

export interface ListenOptions {
  url: string
  channel: string
  /** Payloads arrive as the text they were sent as. */
  onPayload(payload: string): void
  /** After the first connect and every reconnect: notifications sent while away are gone. */
  onConnected(): void
  onReconnect?(attempt: number): void
  /** Reconnecting gave up. */
  onFatal(error: Error): void
  paranoidCheckMs?: number
  retryTimeoutMs?: number
}

export interface ListenConnection {
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * A dedicated LISTEN connection (pg-listen) on one channel. A paranoid check (`select 1` on the idle
 * connection) detects a half-open socket; reconnection backs off up to 5 s between attempts and gives
 * up after `retryTimeoutMs`.
 */
export function listen(options: ListenOptions): ListenConnection {
  // pg-listen's reconnect loop does not stop on close(): events after stop() are dropped.
  let stopped = false
  const subscriber: Subscriber<Record<string, string>> = createSubscriber(
    // The paranoid check must not hang on a half-open socket: a slow statement fails instead.
    { connectionString: options.url, keepAlive: true, query_timeout: 5_000 },
    {
      parse: (text: string) => text,
      paranoidChecking: options.paranoidCheckMs ?? 10_000,
      retryInterval: (attempt: number) => Math.min(100 * 2 ** attempt, 5_000),
      retryTimeout: options.retryTimeoutMs ?? 60_000,
    },
  )
  subscriber.notifications.on(options.channel, (payload: string) => options.onPayload(payload))
  subscriber.events.on('connected', () => {
    if (!stopped) options.onConnected()
  })
  subscriber.events.on('reconnect', (attempt: number) => options.onReconnect?.(attempt))
  subscriber.events.on('error', (error: Error) => {
    if (!stopped) options.onFatal(error)
  })
  return {
    async start() {
      await subscriber.connect()
      await subscriber.listenTo(options.channel)
      options.onConnected()
    },
    async stop() {
      stopped = true
      await subscriber.close()
    },
  }
}
