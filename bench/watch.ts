/**
 * Issue 13's watch figures, on the real API (in process) over the bench database:
 * - the controller's status write with the watch triggers (resource version + NOTIFY on a real change)
 *   beside the same UPDATE on a copy of the table without triggers: the hot path's cost;
 * - a status write → the event at a watcher (Server-Sent Events), beside the write alone;
 * - 500 watchers of one environment: reads per change (counted by the hub) and the time until all
 *   500 have the change.
 */
import type { AddressInfo } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import pg from 'pg'
import { buildApp } from '../src/api/app.js'
import { WatchHub } from '../src/api/watch-hub.js'
import { createPasswordHasher } from '../src/auth/passwords.js'
import { readEvents } from '../src/cli/client/sse.js'
import { parseConfig } from '../src/config/index.js'
import { parseSecretKeys } from '../src/config/secrets.js'
import { createLogger } from '../src/log.js'
import { writeEnvironmentStatus } from '../src/store/environments.js'
import { createPool } from '../src/store/pool.js'
import { row, type BenchRow } from './table.js'
import { summarize } from './load.js'

const WRITES = 500
const CHANGES = 50
const WATCHERS = 500
const log = createLogger('silent')

export async function runWatchBench(databaseUrl: string): Promise<BenchRow[]> {
  const pool = createPool(databaseUrl, log, 10)
  const hub = new WatchHub(databaseUrl, log)
  await hub.start()
  const app = await benchApp(pool, hub)
  try {
    const { environmentId, token } = await seed(app)
    const cost = await statusWriteCost(pool, environmentId)
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const watch = (id: string) => openWatch(`${base}/api/environments/${id}?watch=true`, token)
    const latency = await watchLatency(pool, environmentId, watch)
    const fanOut = await manyWatchers(pool, hub, environmentId, watch)
    const noTriggers = { baseline: cost.baseline.p50, baselineName: 'no triggers' }
    return [
      row({
        name: `status write, a change, p50 (n=${WRITES})`,
        value: cost.change.p50,
        unit: 'ms',
        ...noTriggers,
      }),
      row({
        name: 'status write, nothing changed, p50',
        value: cost.same.p50,
        unit: 'ms',
        ...noTriggers,
        target: '<= 1x',
        met: cost.same.p50 <= cost.baseline.p50,
      }),
      row({
        name: `status write -> watcher event, p50 (n=${CHANGES})`,
        value: latency.event.p50,
        unit: 'ms',
        baseline: latency.write.p50,
        baselineName: 'the write',
        target: '<= 100 ms',
        met: latency.event.p50 <= 100,
      }),
      row({
        name: 'status write -> watcher event, p99',
        value: latency.event.p99,
        unit: 'ms',
        baseline: latency.write.p99,
        baselineName: 'the write',
        target: '<= 100 ms',
        met: latency.event.p99 <= 100,
      }),
      row({
        name: `${WATCHERS} watchers: reads per change`,
        value: fanOut.readsPerChange,
        unit: '',
        target: '1',
        met: fanOut.readsPerChange <= 1,
      }),
      row({ name: `${WATCHERS} watchers: write -> all have it`, value: fanOut.allMs, unit: 'ms' }),
    ]
  } finally {
    await app.close()
    await hub.stop()
    await pool.end()
  }
}

async function benchApp(pool: pg.Pool, hub: WatchHub) {
  const app = await buildApp({
    pool,
    log,
    version: { version: 'bench', commit: null, node: process.version },
    secrets: {
      jwtSecret: 'bench-secret-that-is-long-enough-0123456789',
      secretKeys: parseSecretKeys(`bench:${Buffer.alloc(32, 9).toString('base64')}`),
    },
    passwords: createPasswordHasher(4),
    limits: parseConfig({}).limits,
    watch: hub,
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

async function seed(app: Awaited<ReturnType<typeof benchApp>>) {
  const user = { email: 'watch@example.com', username: 'watch', password: 'correct horse battery' }
  const { accessToken } = (
    await app.inject({ method: 'POST', url: '/api/auth/register', payload: user })
  ).json()
  const auth = { authorization: `Bearer ${accessToken}` }
  const project = await app.inject({
    method: 'POST',
    url: '/api/projects',
    headers: auth,
    payload: { name: 'watched', spec: {} },
  })
  const environment = await app.inject({
    method: 'POST',
    url: `/api/projects/${project.json().metadata.id}/environments`,
    headers: auth,
    payload: { name: 'production', spec: {} },
  })
  return { environmentId: environment.json().metadata.id as string, token: accessToken as string }
}

/** The same status writes, with the triggers and on a trigger-less copy of the table, interleaved. */
async function statusWriteCost(pool: pg.Pool, id: string) {
  const client = await pool.connect()
  try {
    await client.query('create temporary table environments_baseline (like environments including all)')
    // Every column but the generated ones (they are computed on the copy as on the table).
    const { rows } = await client.query<{ columns: string }>(
      `select string_agg(quote_ident(column_name), ', ') as columns from information_schema.columns
        where table_name = 'environments' and table_schema = current_schema() and is_generated = 'NEVER'`,
    )
    const columns = rows[0]!.columns
    await client.query(
      `insert into environments_baseline (${columns}) select ${columns} from environments where id = $1`,
      [id],
    )
    const samples = { change: [] as number[], same: [] as number[], baseline: [] as number[] }
    const time = async (into: number[], sql: string, status: object) => {
      const started = performance.now()
      await client.query(sql, [id, status])
      into.push(performance.now() - started)
    }
    for (let i = 0; i < WRITES; i++) {
      await time(
        samples.change,
        'update environments set status = $2 where id = $1 and status is distinct from $2',
        { phase: 'Progressing', n: i },
      )
      await time(
        samples.same,
        'update environments set status = $2 where id = $1 and status is distinct from $2',
        { phase: 'Progressing', n: i },
      )
      await time(samples.baseline, 'update environments_baseline set status = $2 where id = $1', {
        phase: 'Progressing',
        n: i,
      })
    }
    return {
      change: summarize(samples.change),
      same: summarize(samples.same),
      baseline: summarize(samples.baseline),
    }
  } finally {
    client.release()
  }
}

interface OpenWatch {
  /** Resolves with the time the next `object` event arrived. */
  next(): Promise<number>
  count(): number
  close(): void
}

async function openWatch(url: string, token: string): Promise<OpenWatch> {
  const controller = new AbortController()
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  })
  let received = 0
  const waiting: Array<(at: number) => void> = []
  void (async () => {
    for await (const event of readEvents(response.body!)) {
      if (event.event !== 'object') continue
      received++
      waiting.shift()?.(performance.now())
    }
  })().catch(() => undefined)
  return {
    next: () => new Promise((resolve) => waiting.push(resolve)),
    count: () => received,
    close: () => controller.abort(),
  }
}

async function watchLatency(pool: pg.Pool, id: string, watch: (id: string) => Promise<OpenWatch>) {
  const watcher = await watch(id)
  while (watcher.count() === 0) await delay(5)
  const event: number[] = []
  const write: number[] = []
  for (let i = 0; i < CHANGES; i++) {
    const arrived = watcher.next()
    const started = performance.now()
    await writeEnvironmentStatus(pool, id, { phase: i % 2 ? 'Available' : 'Progressing' })
    write.push(performance.now() - started)
    event.push((await arrived) - started)
  }
  watcher.close()
  return { event: summarize(event), write: summarize(write) }
}

async function manyWatchers(
  pool: pg.Pool,
  hub: WatchHub,
  id: string,
  watch: (id: string) => Promise<OpenWatch>,
) {
  const watchers = await Promise.all(Array.from({ length: WATCHERS }, () => watch(id)))
  while (watchers.some((w) => w.count() === 0)) await delay(10)
  const readsBefore = hub.reads
  const arrivals = Promise.all(watchers.map((w) => w.next()))
  const started = performance.now()
  await writeEnvironmentStatus(pool, id, { phase: 'Degraded' })
  const all = Math.max(...(await arrivals)) - started
  const readsPerChange = hub.reads - readsBefore
  for (const w of watchers) w.close()
  return { readsPerChange, allMs: all }
}
