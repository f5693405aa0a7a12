import pg from 'pg'
import type { Pool } from '../../src/store/pool.js'

export interface ChangePayload {
  kind: string
  id: string
  at?: number
}

const CHANNEL = 'gilgal_changes'
const SENTINEL = 'Sentinel'

/**
 * Collects `gilgal_changes` notifications on a dedicated connection. PostgreSQL delivers notifications
 * in commit order, so "nothing was sent" is checked without sleeping: commit a sentinel afterwards and
 * require it to be the next notification.
 */
export class ChangeListener {
  private readonly received: ChangePayload[] = []
  private waiter: (() => void) | undefined

  private constructor(private readonly client: pg.Client) {
    client.on('notification', (message) => {
      this.received.push(JSON.parse(message.payload ?? '{}') as ChangePayload)
      this.waiter?.()
    })
  }

  static async start(url: string): Promise<ChangeListener> {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(`listen ${CHANNEL}`)
    return new ChangeListener(client)
  }

  /** The next notification, waiting up to `timeoutMs` for it. */
  async next(timeoutMs = 5000): Promise<ChangePayload> {
    const deadline = Date.now() + timeoutMs
    while (this.received.length === 0) {
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`no ${CHANNEL} notification within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.waiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.waiter = undefined
    }
    return this.received.shift()!
  }

  /** Asserts that nothing was notified since the last `next()`, by round-tripping a sentinel. */
  async expectNothing(pool: Pool): Promise<void> {
    await pool.query('select pg_notify($1, $2)', [CHANNEL, JSON.stringify({ kind: SENTINEL, id: '' })])
    const payload = await this.next()
    if (payload.kind !== SENTINEL) throw new Error(`expected no notification, got ${JSON.stringify(payload)}`)
  }

  /** Discards everything notified so far (e.g. by the parent rows a test had to create). */
  async drain(pool: Pool): Promise<void> {
    await pool.query('select pg_notify($1, $2)', [CHANNEL, JSON.stringify({ kind: SENTINEL, id: '' })])
    while ((await this.next()).kind !== SENTINEL);
  }

  async stop(): Promise<void> {
    await this.client.end()
  }
}
