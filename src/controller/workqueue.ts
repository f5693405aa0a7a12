import PQueue from 'p-queue'
import { coerceError, TerminalError } from '../errors.js'
import type { ReconcileResult } from './reconciler.js'

/** Time, injected so tests are exact (kubernetes-client's `delayFn`, client-go's fake clock). */
export interface Clock {
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

// Timers are unref'd: a retry or a reconcile's deadline never keeps a stopping process alive.
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export type Outcome = 'success' | 'requeue' | 'error' | 'terminal'

export interface WorkQueueOptions {
  process(key: string, signal: AbortSignal): Promise<ReconcileResult>
  concurrency?: number
  clock?: Clock
  random?: () => number
  baseDelayMs?: number
  maxDelayMs?: number
  /** A reconcile running longer than this is aborted through its signal. */
  timeoutMs?: number
  /** Called when a key starts (after waiting `waitedMs` since it was queued) and when it ends. */
  onStart?(key: string, waitedMs: number): void
  onDone?(key: string, outcome: Outcome, durationMs: number, error?: Error): void
}

/**
 * client-go's workqueue semantics on top of p-queue (which only caps concurrency): a key is queued
 * once however often it is added; it never runs twice at once (added while running, it is marked dirty
 * and runs once more afterwards); failures back off per key, min(base·2^n, max) with jitter, reset on
 * success; `requeueAfterMs` schedules the next run; a TerminalError is not retried.
 */
export class WorkQueue {
  private readonly options: Required<Omit<WorkQueueOptions, 'onStart' | 'onDone' | 'timeoutMs'>> &
    Pick<WorkQueueOptions, 'onStart' | 'onDone' | 'timeoutMs'>
  private readonly pool: PQueue
  private readonly queuedAt = new Map<string, number>()
  private readonly running = new Map<string, AbortController>()
  private readonly dirty = new Set<string>()
  private readonly failures = new Map<string, number>()
  private readonly timers = new Map<string, { at: number; handle: unknown }>()
  private stopped = false

  constructor(options: WorkQueueOptions) {
    this.options = {
      concurrency: 4,
      clock: systemClock,
      random: Math.random,
      baseDelayMs: 100,
      maxDelayMs: 5 * 60_000,
      ...options,
    }
    this.pool = new PQueue({ concurrency: this.options.concurrency })
  }

  /** Queues `key` unless it is queued already; a running key is marked dirty instead. */
  add(key: string): void {
    if (this.stopped) return
    if (this.running.has(key)) {
      this.dirty.add(key)
    } else if (!this.queuedAt.has(key)) {
      this.queuedAt.set(key, this.options.clock.now())
      void this.pool.add(() => this.run(key))
    }
  }

  /** Adds `key` after `ms`; of several pending delays for one key, the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return
    if (ms <= 0) return this.add(key)
    const at = this.options.clock.now() + ms
    const pending = this.timers.get(key)
    if (pending && pending.at <= at) return
    if (pending) this.options.clock.clearTimeout(pending.handle)
    const handle = this.options.clock.setTimeout(() => {
      this.timers.delete(key)
      this.add(key)
    }, ms)
    this.timers.set(key, { at, handle })
  }

  /** Keys waiting to run (not those running or waiting on a timer). */
  get depth(): number {
    return this.queuedAt.size
  }

  queuedKeys(): IterableIterator<string> {
    return this.queuedAt.keys()
  }

  get runningKeys(): string[] {
    return [...this.running.keys()]
  }

  /** Stops starting work (lost leadership). Queued keys stay queued. */
  pause(): void {
    this.pool.pause()
  }

  resume(): void {
    this.pool.start()
  }

  /** Aborts every running reconcile through its signal; they finish (and requeue) on their own. */
  abortRunning(reason = 'aborted'): void {
    for (const controller of this.running.values()) controller.abort(new Error(reason))
  }

  /**
   * Stops accepting work, drops what is queued or delayed, and waits up to `timeoutMs` for running
   * reconciles (aborted at the deadline). Resolves true when all finished in time.
   */
  async shutdown(timeoutMs: number): Promise<boolean> {
    this.stopped = true
    for (const { handle } of this.timers.values()) this.options.clock.clearTimeout(handle)
    this.timers.clear()
    this.pool.clear()
    this.queuedAt.clear()
    let timer: unknown
    const deadline = new Promise<false>((resolve) => {
      timer = this.options.clock.setTimeout(() => resolve(false), timeoutMs)
    })
    const finished = await Promise.race([this.pool.onIdle().then(() => true), deadline])
    this.options.clock.clearTimeout(timer)
    if (!finished) this.abortRunning('shutdown')
    return finished
  }

  private async run(key: string): Promise<void> {
    const queuedAt = this.queuedAt.get(key)
    if (queuedAt === undefined) return // dropped by shutdown
    this.queuedAt.delete(key)
    const controller = new AbortController()
    this.running.set(key, controller)
    const { clock } = this.options
    const started = clock.now()
    this.options.onStart?.(key, started - queuedAt)
    const timeout = this.options.timeoutMs
      ? clock.setTimeout(() => controller.abort(new Error('reconcile timed out')), this.options.timeoutMs)
      : undefined
    let outcome: Outcome
    let error: Error | undefined
    try {
      const result = await this.options.process(key, controller.signal)
      this.failures.delete(key)
      outcome = result.requeueAfterMs === undefined ? 'success' : 'requeue'
      if (result.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs)
    } catch (thrown) {
      error = coerceError(thrown)
      outcome = error instanceof TerminalError ? 'terminal' : 'error'
      if (outcome === 'terminal') this.failures.delete(key)
      else this.addAfter(key, this.backoff(key))
    } finally {
      if (timeout !== undefined) clock.clearTimeout(timeout)
      this.running.delete(key)
    }
    this.options.onDone?.(key, outcome, clock.now() - started, error)
    if (this.dirty.delete(key)) this.add(key)
  }

  /** min(base·2^n, max), scaled by a jitter factor in [1, 1.2) so retries of many keys spread out. */
  private backoff(key: string): number {
    const attempt = this.failures.get(key) ?? 0
    this.failures.set(key, attempt + 1)
    const delay = Math.min(this.options.baseDelayMs * 2 ** attempt, this.options.maxDelayMs)
    return Math.min(delay * (1 + 0.2 * this.options.random()), this.options.maxDelayMs)
  }
}
