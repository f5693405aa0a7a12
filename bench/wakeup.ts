/**
 * Issue 4's wake-up latency: from just before a write (so its own round trip is included) to the
 * start of its reconcile in the controller, over 1,000 writes made one at a time, beside a raw
 * NOTIFY ping-pong between two processes (one-way = round trip / 2) on the same database.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import pg from 'pg'
import { formatKey } from '../src/controller/keys.js'
import { ControllerManager } from '../src/controller/manager.js'
import { createLogger } from '../src/log.js'
import { createMetrics } from '../src/metrics/registry.js'
import type { Reconciler } from '../src/controller/reconciler.js'
import { createPool } from '../src/store/pool.js'
import { row, type BenchRow } from './table.js'
import { summarize, type Latencies } from './load.js'

const WRITES = 1000
const log = createLogger('silent')
const now = () => performance.timeOrigin + performance.now()

export async function runWakeupBench(databaseUrl: string): Promise<BenchRow[]> {
  const pingPong = await measurePingPong(databaseUrl, WRITES)
  const { wake, write } = await measureWakeup(databaseUrl, WRITES)
  return [
    row({
      name: `wake-up p50, commit -> reconcile start (n=${wake.count})`,
      value: wake.p50,
      unit: 'ms',
      baseline: pingPong.p50,
      baselineName: 'NOTIFY one-way p50',
      target: '<= NOTIFY + 0.5 ms',
      met: wake.p50 <= pingPong.p50 + 0.5,
    }),
    row({
      name: 'wake-up p99',
      value: wake.p99,
      unit: 'ms',
      baseline: pingPong.p99,
      baselineName: 'NOTIFY one-way p99',
      target: '<= 10 ms',
      met: wake.p99 <= 10,
    }),
    row({ name: 'the write itself, p50 (included above)', value: write.p50, unit: 'ms' }),
  ]
}

async function measurePingPong(url: string, rounds: number): Promise<Latencies> {
  const pong = spawn(process.execPath, ['--import', 'tsx', 'bench/pong.ts', url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const client = new pg.Client({ connectionString: url })
  try {
    await once(createInterface({ input: pong.stdout! }), 'line')
    await client.connect()
    await client.query('listen bench_pong')
    const samples: number[] = []
    for (let i = 0; i < rounds; i++) {
      const answered = once(client, 'notification')
      const started = now()
      await client.query('select pg_notify($1, $2)', ['bench_ping', String(i)])
      await answered
      samples.push((now() - started) / 2)
    }
    return summarize(samples)
  } finally {
    await client.end()
    pong.kill('SIGTERM')
  }
}

async function measureWakeup(url: string, writes: number): Promise<{ wake: Latencies; write: Latencies }> {
  const pool = createPool(url, log, 4)
  const writer = new pg.Client({ connectionString: url })
  await writer.connect()
  const waiting = new Map<string, (at: number) => void>()
  const recorder: Reconciler = {
    async reconcile(key) {
      waiting.get(formatKey(key))?.(now())
      return {}
    },
  }
  const idle: Reconciler = { reconcile: async () => ({}) }
  const manager = new ControllerManager({
    pool,
    databaseUrl: url,
    log,
    metrics: createMetrics(),
    resyncSeconds: 3600,
    buildReconcilers: () => ({ Project: recorder, Environment: idle, Deployment: idle }),
    onFatal: (error) => {
      throw error
    },
  })
  try {
    await manager.start()
    while (!manager.elector.isLeader) await new Promise((resolve) => setTimeout(resolve, 50))
    const { rows } = await writer.query(
      `insert into users (email, username, password_hash) values ('wake@example.com', 'wake', 'x') returning id`,
    )
    const wake: number[] = []
    const write: number[] = []
    for (let i = 0; i < writes; i++) {
      const id = crypto.randomUUID()
      const started = new Promise<number>((resolve) =>
        waiting.set(formatKey({ kind: 'Project', id }), resolve),
      )
      const before = now()
      await writer.query('insert into projects (id, owner_id, name) values ($1, $2, $3)', [
        id,
        rows[0].id,
        `w-${i}`,
      ])
      write.push(now() - before)
      wake.push((await started) - before)
      waiting.delete(formatKey({ kind: 'Project', id }))
    }
    return { wake: summarize(wake), write: summarize(write) }
  } finally {
    await manager.stop(2000)
    await writer.end()
    await pool.end()
  }
}
