import { randomBytes } from 'node:crypto'
import os from 'node:os'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics/registry.js'
import {
  acquireLease,
  msUntilLeaseExpires,
  isLeaseCurrent,
  openLeaseConnection,
  releaseLease,
  renewLease,
  type LeaseConnection,
} from '../store/leases.js'
import { FencedError, type Fence } from '../runtime/fence.js'
import type { Pool } from '../store/pool.js'
import { systemClock, type Clock } from './workqueue.js'

// After the lease's expiry by the database's clock: the next campaign must find it expired.
const CAMPAIGN_MARGIN_MS = 10

export interface LeaderCallbacks {
  onStartedLeading(fence: Fence): void
  onStoppedLeading(reason: string): void
}

export interface LeaseOptions {
  /** For the fence checks. */
  pool: Pool
  /** The lease is campaigned for and renewed on a connection of its own to this database. */
  databaseUrl: string
  log: Logger
  metrics?: Metrics
  name?: string
  holder?: string
  ttlMs?: number
  renewMs?: number
  clock?: Clock
}

/**
 * Leader election through a lease row (controller-runtime's leaderelection contract): campaign until
 * the lease is free, renew every `renewMs`, and stop leading at once when a renewal fails, is refused,
 * or is late (a watchdog fires `ttlMs - renewMs` after the last success). Lease statements run on a
 * connection of the elector's own, so losing that session ends leadership at once instead of being
 * papered over by a pool reconnecting. A paused-then-resumed former leader is stopped by the fence:
 * its epoch is no longer current in the database.
 */
export class LeaderElector {
  readonly holder: string
  private readonly name: string
  private readonly ttlMs: number
  private readonly renewMs: number
  private readonly clock: Clock
  private epoch: number | undefined
  private tickTimer: unknown
  /** When a campaign lost to a live lease: try again as it expires. */
  private nextCampaignMs: number | undefined
  private watchdog: unknown
  private stopped = false
  private callbacks: LeaderCallbacks | undefined
  private connection: LeaseConnection | undefined
  private inFlight: Promise<void> | undefined

  constructor(private readonly options: LeaseOptions) {
    this.name = options.name ?? 'controller'
    this.holder = options.holder ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
    this.ttlMs = options.ttlMs ?? 10_000
    this.renewMs = options.renewMs ?? 2_000
    this.clock = options.clock ?? systemClock
    // The watchdog fires ttl - renew after the last success: it must allow at least one missed renewal.
    if (this.renewMs * 3 > this.ttlMs)
      throw new Error(
        `lease renewal (${this.renewMs} ms) must be at most a third of the lease (${this.ttlMs} ms)`,
      )
  }

  get isLeader(): boolean {
    return this.epoch !== undefined
  }

  start(callbacks: LeaderCallbacks): void {
    this.callbacks = callbacks
    void this.tick()
  }

  /**
   * Stops campaigning. A held lease is released so a standby takes over without waiting, unless
   * `release` is false (reconciles may still be running: then it is left to expire).
   */
  async stop({ release = true } = {}): Promise<void> {
    this.stopped = true
    this.clock.clearTimeout(this.tickTimer)
    await this.inFlight // a campaign in flight may yet win the lease; it is handled below
    const epoch = this.epoch
    this.lose('shutting down')
    if (epoch !== undefined && release) {
      await releaseLease(this.options.pool, this.name, this.holder, epoch).catch((error: unknown) =>
        this.options.log.warn({ err: error }, 'lease release failed'),
      )
    }
    this.dropConnection()
  }

  fence(epoch: number): Fence {
    const { pool } = this.options
    return {
      epoch,
      assertCurrent: async () => {
        if (this.epoch !== epoch || !(await isLeaseCurrent(pool, this.name, this.holder, epoch))) {
          throw new FencedError(epoch)
        }
      },
    }
  }

  private tick(): Promise<void> {
    this.inFlight = this.attempt().finally(() => {
      this.inFlight = undefined
      const next = this.nextCampaignMs ?? this.renewMs
      this.nextCampaignMs = undefined
      if (!this.stopped) this.tickTimer = this.clock.setTimeout(() => void this.tick(), next)
    })
    return this.inFlight
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return
    try {
      if (this.epoch === undefined) await this.campaign()
      else await this.renew(this.epoch)
    } catch (error) {
      const failed = this.epoch === undefined ? 'lease campaign failed' : 'lease renewal failed'
      this.options.log.warn({ err: error }, failed)
      // A timed-out statement stays queued on its connection: start the next attempt on a fresh one.
      this.dropConnection()
      this.lose('renewal failed')
    }
  }

  private async campaign(): Promise<void> {
    const connection = await this.connect()
    const lease = await acquireLease(connection, this.name, this.holder, this.ttlMs)
    if (!lease) {
      // A standby tries again the moment the lease it lost to expires, not up to a period later:
      // a frozen leader is replaced within its lease, plus a round trip.
      const expiresInMs = await msUntilLeaseExpires(connection, this.name)
      if (expiresInMs !== undefined)
        this.nextCampaignMs = Math.min(this.renewMs, expiresInMs + CAMPAIGN_MARGIN_MS)
      return
    }
    this.epoch = lease.epoch
    if (this.stopped) return // stop() is waiting for this attempt, and releases the lease
    this.armWatchdog()
    this.options.metrics?.leader.set(1)
    this.options.log.info({ holder: this.holder, epoch: lease.epoch }, 'became leader')
    this.callbacks?.onStartedLeading(this.fence(lease.epoch))
  }

  private async renew(epoch: number): Promise<void> {
    const lease = await renewLease(await this.connect(), this.name, this.holder, epoch, this.ttlMs)
    if (this.epoch !== epoch) return
    if (lease) this.armWatchdog()
    else this.lose('lease lost')
  }

  private async connect(): Promise<LeaseConnection> {
    if (this.connection) return this.connection
    // A statement slower than a renewal period counts as a failed renewal.
    const connection: LeaseConnection = await openLeaseConnection(
      this.options.databaseUrl,
      this.renewMs,
      (error) => {
        if (this.connection !== connection) return
        this.options.log.warn({ err: error }, 'lease connection lost')
        this.connection = undefined
        this.lose('lease connection lost')
      },
    )
    this.connection = connection
    return connection
  }

  /** Forgets the lease connection and closes it in the background (never awaited: it may hang). */
  private dropConnection(): void {
    const connection = this.connection
    this.connection = undefined // so its closing is not mistaken for a lost connection
    connection?.end().catch(() => undefined)
  }

  private armWatchdog(): void {
    this.clock.clearTimeout(this.watchdog)
    this.watchdog = this.clock.setTimeout(() => this.lose('renewal late'), this.ttlMs - this.renewMs)
  }

  private lose(reason: string): void {
    if (this.epoch === undefined) return
    const level = this.stopped ? 'info' : 'warn' // giving the lease up on shutdown is no incident
    this.options.log[level]({ holder: this.holder, epoch: this.epoch, reason }, 'stopped leading')
    this.epoch = undefined
    this.clock.clearTimeout(this.watchdog)
    this.options.metrics?.leader.set(0)
    this.callbacks?.onStoppedLeading(reason)
  }
}
