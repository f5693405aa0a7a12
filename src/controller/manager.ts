import { randomUUID } from 'node:crypto'
import { TerminalError } from '../errors.js'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics/registry.js'
import { FencedError, type Fence } from '../runtime/fence.js'
import type { RuntimeReads } from '../runtime/runtime.js'
import { listLiveObjects } from '../store/spec-tables.js'
import type { Pool } from '../store/pool.js'
import { DockerEventWatcher } from './docker-events.js'
import {
  CONTROLLER_KINDS,
  formatKey,
  parseKey,
  ROUTES_KEY,
  type ControllerKind,
  type ObjectKey,
} from './keys.js'
import { LeaderElector, type LeaseOptions } from './lease.js'
import { ChangeListener } from './listener.js'
import type { ReconcilerSet } from './reconciler.js'
import { WorkQueue } from './workqueue.js'

export interface ManagerOptions {
  pool: Pool
  /** For the dedicated LISTEN connection. */
  databaseUrl: string
  log: Logger
  metrics: Metrics
  /** Builds the reconcilers of one leadership term; their Docker mutations check `fence`. */
  buildReconcilers(fence: Fence): ReconcilerSet
  resyncSeconds: number
  concurrency?: number
  reconcileTimeoutMs?: number
  lease?: Partial<Omit<LeaseOptions, 'pool' | 'databaseUrl' | 'log' | 'metrics'>>
  /** When given, its events of managed containers enqueue their environments (reads only: unfenced). */
  runtime?: RuntimeReads
  /** false: no LISTEN connection, the periodic resync alone drives convergence (e.g. behind a pooler
   * that cannot LISTEN). Default true. */
  listen?: boolean
  /** Listening is lost for good: the caller exits non-zero. */
  onFatal(error: Error): void
}

/**
 * Wires the controller: LISTEN and the periodic resync feed keys into the work queue; the queue runs
 * only while this process holds the lease; a lost lease pauses it and aborts running reconciles.
 */
export class ControllerManager {
  readonly queue: WorkQueue
  readonly elector: LeaderElector
  private readonly listener: ChangeListener | undefined
  private readonly dockerEvents: DockerEventWatcher | undefined
  private reconcilers: ReconcilerSet | undefined
  private resyncTimer: NodeJS.Timeout | undefined

  constructor(private readonly options: ManagerOptions) {
    const { log, metrics } = options
    this.queue = new WorkQueue({
      concurrency: options.concurrency ?? 4,
      timeoutMs: options.reconcileTimeoutMs ?? 10 * 60_000,
      process: (key, signal) => this.reconcile(key, signal),
      onStart: (key, waitedMs) => {
        metrics.workqueueWait.observe({ kind: kindOf(key) }, waitedMs / 1000)
        this.updateDepth()
      },
      onDone: (key, outcome, durationMs) => {
        const kind = kindOf(key)
        metrics.reconcileTotal.inc({ kind, result: outcome })
        metrics.reconcileDuration.observe({ kind }, durationMs / 1000)
      },
    })
    this.queue.pause() // until this process leads
    this.elector = new LeaderElector({
      pool: options.pool,
      databaseUrl: options.databaseUrl,
      log,
      metrics,
      ...options.lease,
    })
    this.dockerEvents = options.runtime
      ? new DockerEventWatcher({
          runtime: options.runtime,
          log,
          metrics,
          onEnvironment: (id) => this.enqueue({ kind: 'Environment', id }),
          onReconnected: () => void this.resync('docker events reconnected'),
          onClusterChange: () => void this.resync('a swarm node changed'),
        })
      : undefined
    this.listener =
      options.listen === false
        ? undefined
        : new ChangeListener({
            url: options.databaseUrl,
            log,
            metrics,
            onChange: (change) => this.enqueue(change.key),
            onConnected: () => void this.resync('listener connected'),
            onFatal: (error) => {
              log.fatal({ err: error }, 'listen connection lost for good')
              options.onFatal(error)
            },
          })
  }

  async start(): Promise<void> {
    // Events are watched from before the first full list, so no change falls between the two.
    await this.dockerEvents?.start()
    if (this.listener) await this.listener.start()
    else void this.resync('started')
    this.elector.start({
      onStartedLeading: (fence) => {
        this.reconcilers = this.options.buildReconcilers(fence)
        this.queue.resume()
        void this.resync('became leader')
      },
      onStoppedLeading: (reason) => {
        this.reconcilers = undefined
        this.queue.pause()
        this.queue.abortRunning(`lost leadership: ${reason}`)
      },
    })
    this.resyncTimer = setInterval(() => void this.resync('timer'), this.options.resyncSeconds * 1000)
    this.resyncTimer.unref()
  }

  /** Stops listening and resyncing, lets running reconciles finish (bounded), then gives up the lease. */
  async stop(timeoutMs = 10_000): Promise<void> {
    clearInterval(this.resyncTimer)
    this.dockerEvents?.stop()
    await this.listener?.stop()
    // Reconciles still running past the bound may be inside a Docker call that passed its fence:
    // then the lease is not released but left to expire, so no successor overlaps with them.
    const finished = await this.queue.shutdown(timeoutMs)
    await this.elector.stop({ release: finished })
  }

  enqueue(key: ObjectKey): void {
    this.queue.add(formatKey(key))
    this.updateDepth()
  }

  /** Enqueues every live object (subscribe → list → process): a lost notification only delays. */
  async resync(reason: string): Promise<void> {
    try {
      const objects = await listLiveObjects(this.options.pool)
      for (const object of objects) this.queue.add(formatKey(object))
      // Caddy is compared with the database on every resync: a restarted or hand-edited one is repaired.
      this.queue.add(formatKey(ROUTES_KEY))
      this.updateDepth()
      this.options.log.debug({ reason, keys: objects.length }, 'resync')
    } catch (error) {
      this.options.log.warn({ err: error, reason }, 'resync failed')
    }
  }

  private async reconcile(key: string, signal: AbortSignal) {
    const parsed = parseKey(key)
    const reconcilers = this.reconcilers
    if (!parsed) throw new TerminalError(`malformed key ${key}`)
    if (!reconcilers) throw new FencedError(-1) // leadership ended between dequeue and start
    const reconcileId = randomUUID()
    const log = this.options.log.child({ key, reconcileId })
    log.debug('reconcile started')
    const enqueue = (other: ObjectKey) => this.enqueue(other)
    try {
      const reconciler = reconcilers[parsed.kind]
      const result = reconciler
        ? await reconciler.reconcile(parsed, signal, { reconcileId, log, enqueue })
        : {}
      log.debug('reconcile finished')
      return result
    } catch (error) {
      if (!(error instanceof FencedError)) log.warn({ err: error }, 'reconcile failed')
      throw error
    }
  }

  private updateDepth(): void {
    const counts = Object.fromEntries(CONTROLLER_KINDS.map((kind) => [kind, 0])) as Record<
      ControllerKind,
      number
    >
    for (const key of this.queue.queuedKeys()) counts[kindOf(key)]++
    for (const kind of CONTROLLER_KINDS) this.options.metrics.workqueueDepth.set({ kind }, counts[kind])
  }
}

function kindOf(key: string): ControllerKind {
  return parseKey(key)?.kind ?? 'Project'
}
