import type { Logger } from '../log.js'
import type { Metrics } from '../metrics/registry.js'
import type { ContainerEvent } from '../runtime/events.js'
import type { Runtime } from '../runtime/runtime.js'

export interface DockerEventOptions {
  /** Only its event stream is used (a read: no fence). */
  runtime: Pick<Runtime, 'watchContainerEvents'>
  log: Logger
  metrics?: Metrics
  /** A managed container of this environment changed: enqueue it. */
  onEnvironment(environmentId: string): void
  /** The stream was re-opened after a gap: events may have been missed, so resync. */
  onReconnected(): void
  /** A Swarm node changed (down, back, drained): replicas may have moved anywhere, so resync. */
  onClusterChange?(): void
}

const MAX_BACKOFF_MS = 5_000

/**
 * Follows Docker's events for managed containers and turns them into environment keys. `since` is
 * taken when watching starts, before the caller's first full list, so nothing falls between the two;
 * after a dropped stream (daemon restart, say) it reconnects with backoff from the last event seen
 * and asks for a resync. Duplicated events are harmless: keys are deduplicated, reconciles are
 * level-triggered.
 */
export class DockerEventWatcher {
  private closeStream: (() => void) | undefined
  private sinceSeconds = 0
  private attempts = 0
  private retryTimer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(private readonly options: DockerEventOptions) {}

  async start(): Promise<void> {
    this.sinceSeconds = Math.floor(Date.now() / 1000)
    await this.open(false)
  }

  /** Drops the current stream and opens a new one (what a daemon restart does to us). */
  async reconnect(): Promise<void> {
    this.closeStream?.()
    this.closeStream = undefined
    await this.open(true)
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.retryTimer)
    this.closeStream?.()
  }

  private async open(afterGap: boolean): Promise<void> {
    if (this.stopped) return
    try {
      this.closeStream = await this.options.runtime.watchContainerEvents(
        this.sinceSeconds,
        (event) => this.receive(event),
        (error) => this.ended(error),
      )
      this.attempts = 0
      if (afterGap) this.options.onReconnected()
    } catch (error) {
      this.ended(error as Error)
    }
  }

  private receive(event: ContainerEvent): void {
    this.sinceSeconds = Math.max(this.sinceSeconds, Math.floor(event.timeNano / 1e9))
    this.options.metrics?.dockerEvents.inc({ action: event.action })
    if (event.action === 'node') return this.options.onClusterChange?.()
    if (event.environmentId) this.options.onEnvironment(event.environmentId)
  }

  private ended(error?: Error): void {
    if (this.stopped) return
    this.closeStream = undefined
    const delay = Math.min(100 * 2 ** this.attempts++, MAX_BACKOFF_MS)
    this.options.log.warn({ err: error, retryInMs: delay }, 'docker event stream ended: reconnecting')
    this.retryTimer = setTimeout(() => void this.open(true), delay)
  }
}
