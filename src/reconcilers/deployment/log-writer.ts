import { announceLogs } from '../../log-bus.js'
import { appendDeploymentLogs, lastLogSeq, type LogLine } from '../../store/deployment-logs.js'
import type { Pool } from '../../store/pool.js'

const MAX_BATCH = 200
const FLUSH_MS = 200
// A runaway build must not fill the database: longer lines are cut, and the log stops at this many.
const MAX_LINE_LENGTH = 8192
const MAX_LINES = 50_000

/**
 * Writes a deployment's build and rollout log in batches (one insert per 200 ms or 200 lines), with
 * gap-free sequence numbers continuing after what an earlier attempt wrote. Lines keep their own
 * timestamps, so batching delays nothing a reader sees but the moment of the insert.
 */
export class DeploymentLogWriter {
  private pending: LogLine[] = []
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()
  private written = 0

  private constructor(
    private readonly pool: Pool,
    private readonly deploymentId: string,
    private seq: number,
  ) {}

  static async open(pool: Pool, deploymentId: string): Promise<DeploymentLogWriter> {
    return new DeploymentLogWriter(pool, deploymentId, await lastLogSeq(pool, deploymentId))
  }

  write(
    stream: LogLine['stream'],
    message: string,
    level: LogLine['level'] = stream === 'stderr' ? 'error' : 'info',
  ): void {
    if (this.written >= MAX_LINES) return
    this.written++
    const text =
      this.written === MAX_LINES
        ? `log truncated after ${MAX_LINES} lines`
        : message.slice(0, MAX_LINE_LENGTH)
    this.pending.push({ seq: ++this.seq, ts: new Date(), stream, level, message: text })
    if (this.pending.length >= MAX_BATCH) void this.flush()
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS)
  }

  /** Writes what is pending; batches go out one after another, in order. */
  flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    const batch = this.pending
    this.pending = []
    // A failed batch fails its own flush, not every later one.
    this.flushing = this.flushing
      .catch(() => undefined)
      .then(() => appendDeploymentLogs(this.pool, this.deploymentId, batch))
      .then(() => announceLogs(this.deploymentId))
    return this.flushing
  }
}
