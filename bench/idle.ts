/**
 * The cost of standing still, on the whole product in this process (startServer: API + controller)
 * with 500 environments of the local http image running, one container each:
 * - process RSS after a GC, beside this process's own before the product started (tsx and the bench
 *   weigh ~150 MB: a compiled product alone weighs less);
 * - process CPU over one resync period with no changes (the default 30 s, so the window holds exactly
 *   one periodic resync), as a percentage of one core;
 * - one full resync (`controller.resync`) until every key it enqueued has been reconciled, beside one
 *   Docker listing of the instance's containers plus one select of every environment;
 * - the queries that resync issues on the product's pool: its listing's own, and its reconciles'.
 * The counting wrappers are installed only around the resync runs: they must not cost the idle window.
 */
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'
import v8 from 'node:v8'
import vm from 'node:vm'
import type { RunningServer } from '../src/main.js'
import { LABELS } from '../src/runtime/labels.js'
import { docker } from '../test/helpers/docker.js'
import { buildHttpImage, IMAGE } from './http-app.js'
import { measureResync } from './idle-resync.js'
import { startProduct } from './product.js'
import type { Api } from './session.js'
import { row, type BenchRow } from './table.js'

const COUNT = 500
// One project per apply: a request holds at most 200 manifests (src/manifests/parse.ts).
const BATCH = 100
const INSTANCE = 'bench-idle'
const RESYNC_SECONDS = 30 // GILGAL_RESYNC_SECONDS' default: the figure is production's
const RESYNC_RUNS = 3
const START_TIMEOUT_MS = 40 * 60_000
const MB = 1024 * 1024
const run = promisify(execFile)

export async function runIdleBench(databaseUrl: string): Promise<BenchRow[]> {
  const started = performance.now()
  progress(`a bare \`node -e\` process: RSS ${((await bareNodeRss()) / MB).toFixed(0)} MB`)
  // The baseline: this process's own share (tsx, the bench, every module loaded) before the product runs.
  const before = await settledRss('before the product started')
  await buildHttpImage()
  const limit = String(COUNT)
  const { server, api, stop } = await startProduct(databaseUrl, INSTANCE, {
    GILGAL_MAX_ENVIRONMENTS: limit,
    GILGAL_MAX_REPLICAS: limit,
    GILGAL_MAX_BUILDS: limit,
    GILGAL_RESYNC_SECONDS: String(RESYNC_SECONDS),
    // One slot per work-queue worker: a Deployment reconcile holds its worker while it waits for one.
    GILGAL_BUILD_CONCURRENCY: '4',
  })
  try {
    await startAll(server, api)
    await delay(10_000) // the last rollouts' completion writes are not idleness
    const idle = await idleWindow(server)
    const rss = await settledRss('with 500 running')
    const resyncs = await repeat(() => measureResync(server))
    const baselines = await repeat(async () => ({ ms: await listingBaseline(server) }))
    await dockerPerReconcile(server)
    progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`)
    return rowsOf(before, rss, idle, median(resyncs), median(baselines).ms)
  } finally {
    await stop()
  }
}

type Idle = Awaited<ReturnType<typeof idleWindow>>
type Resync = Awaited<ReturnType<typeof measureResync>>

function rowsOf(before: number, rss: number, idle: Idle, resync: Resync, baselineMs: number): BenchRow[] {
  const { listing, reconciles } = resync.queries
  return [
    row({
      name: `idle: process RSS after GC, ${COUNT} environments running`,
      value: rss / MB,
      unit: 'MB',
      baseline: before / MB,
      baselineName: 'before the product started',
      target: '<= 150 MB',
      met: rss <= 150 * MB,
    }),
    row({
      name: `idle: CPU over ${idle.seconds.toFixed(0)} s incl. 1 periodic resync (default 30 s)`,
      value: idle.cpuPercent,
      unit: '% core',
      target: '<= 1 %',
      met: idle.cpuPercent <= 1,
    }),
    row({ name: 'idle: reconciles in that window (metrics)', value: idle.reconciles, unit: '' }),
    row({
      name: `idle: one resync until its ${resync.keys} keys reconciled, p50 of 3`,
      value: resync.ms,
      unit: 'ms',
      baseline: baselineMs,
      baselineName: 'docker list + select envs',
      target: '<= 500 ms',
      met: resync.ms <= 500,
    }),
    row({
      name: 'idle: queries per resync, the listing',
      value: listing,
      unit: '',
      target: '<= 5 (not one per object)',
      met: listing <= 5,
    }),
    row({
      name: `idle: queries per resync, its reconciles (${resync.reconciles} ran)`,
      value: reconciles,
      unit: '',
      baseline: resync.keys,
      baselineName: 'keys enqueued',
    }),
  ]
}

/**
 * One apply of 100 at a time, each waited for until Available: the burst's size, so the controller's
 * work stays what the burst bench measures, and the run says how far it got.
 */
async function startAll(server: RunningServer, api: Api): Promise<void> {
  const started = performance.now()
  for (let batch = 0; batch < COUNT / BATCH; batch++) {
    await api('POST', '/api/apply', manifest(batch), 'application/yaml')
    for (;;) {
      const { available, failed } = await countPhases(server)
      const elapsed = ((performance.now() - started) / 1000).toFixed(0)
      if (failed > 0) throw new Error(`${failed} environments Failed (${available} Available)`)
      if (performance.now() - started > START_TIMEOUT_MS) throw new Error(`only ${available} Available`)
      if (available === (batch + 1) * BATCH) {
        progress(`${available}/${COUNT} Available after ${elapsed} s`)
        break
      }
      await delay(1000)
    }
  }
}

/**
 * healthCheck.intervalSeconds stays at its default (2 s): a running environment is reconciled again
 * every probe interval, so that default is what idleness costs. The progress deadline is raised: the
 * figures are of standing still, not of rollouts starved while 500 start.
 */
function manifest(batch: number): string {
  const project = `${INSTANCE}-${batch}`
  const environments = Array.from(
    { length: BATCH },
    (_, i) => `---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: e${i}, project: ${project} }
spec:
  source: { image: ${IMAGE} }
  port: 8080
  resources: { memory: 16Mi, cpus: 0.02 }
  healthCheck: { tcp: {} }
  rollout: { drainSeconds: 0, monitorSeconds: 0, progressDeadlineSeconds: 3600 }
`,
  )
  return `apiVersion: gilgal.dev/v1\nkind: Project\nmetadata: { name: ${project} }\nspec: {}\n${environments.join('')}`
}

async function countPhases(server: RunningServer): Promise<{ available: number; failed: number }> {
  const { rows } = await server.database.pool.query<{ available: number; failed: number }>(
    `select count(*) filter (where status->>'phase' = 'Available')::int as available,
            count(*) filter (where status->>'phase' = 'Failed')::int as failed
       from environments`,
  )
  return rows[0]!
}

/**
 * CPU of the whole process over one resync period, and from the product's /metrics what the
 * controller did meanwhile. GILGAL_BENCH_CPU_PROFILE=FILE writes a CPU profile of the window.
 */
async function idleWindow(server: RunningServer) {
  const before = await scrape(server)
  const cpu = process.cpuUsage()
  const started = performance.now()
  await profiled(() => delay(RESYNC_SECONDS * 1000))
  const used = process.cpuUsage(cpu)
  const wallMs = performance.now() - started
  const after = await scrape(server)
  const delta = (name: string) => after(name) - before(name)
  const reconciles = delta('gilgal_reconcile_total{')
  const cpuPercent = ((used.user + used.system) / 1000 / wallMs) * 100
  const mean = (name: string) => ((delta(`${name}_sum`) / delta(`${name}_count`)) * 1000).toFixed(1)
  progress(
    `${cpuPercent.toFixed(1)} % of a core; ${reconciles} reconciles in ${(wallMs / 1000).toFixed(1)} s, ` +
      `mean ${mean('gilgal_reconcile_duration_seconds')} ms each after ${mean('gilgal_workqueue_wait_seconds')} ms queued`,
  )
  return { seconds: wallMs / 1000, cpuPercent, reconciles }
}

/** The product's /metrics, in process: a series' values summed over its label sets. */
async function scrape(server: RunningServer): Promise<(prefix: string) => number> {
  const { body } = await server.app.inject({ method: 'GET', url: '/metrics' })
  const lines = body.split('\n')
  return (prefix) =>
    lines
      .filter((line) => line.startsWith(prefix))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
}

async function profiled(work: () => Promise<unknown>): Promise<void> {
  const file = process.env.GILGAL_BENCH_CPU_PROFILE
  if (!file) return void (await work())
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  await work()
  const { profile } = await session.post('Profiler.stop')
  await writeFile(file, JSON.stringify(profile))
  session.disconnect()
}

/** RSS once garbage is collected: global.gc under --expose-gc, else the flag set at run time. */
async function settledRss(when: string): Promise<number> {
  let gc = (globalThis as { gc?: () => void }).gc
  if (!gc) {
    v8.setFlagsFromString('--expose-gc')
    gc = vm.runInNewContext('gc') as (() => void) | undefined
  }
  if (!gc) progress('no gc available: RSS as it stands')
  for (let i = 0; i < 3; i++) {
    gc?.()
    await delay(200)
  }
  const usage = process.memoryUsage()
  const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`
  progress(
    `RSS ${when} ${mb(usage.rss)}: heap ${mb(usage.heapUsed)} used of ${mb(usage.heapTotal)}, external ${mb(usage.external)}`,
  )
  return usage.rss
}

async function bareNodeRss(): Promise<number> {
  const { stdout } = await run(process.execPath, ['-e', 'console.log(process.memoryUsage().rss)'])
  return Number(stdout.trim())
}

/** What a resync must at least do: list the instance's containers and read every environment. */
async function listingBaseline(server: RunningServer): Promise<number> {
  const started = performance.now()
  await docker.listContainers({ all: true, filters: { label: [`${LABELS.instance}=${INSTANCE}`] } })
  await server.database.pool.query('select * from environments')
  return performance.now() - started
}

/** The Docker reads each Environment reconcile makes (a filtered list, an inspect), timed alone. */
async function dockerPerReconcile(server: RunningServer): Promise<void> {
  const { rows } = await server.database.pool.query<{ id: string }>('select id from environments limit 1')
  const label = [`${LABELS.instance}=${INSTANCE}`, `${LABELS.environment}=${rows[0]!.id}`]
  const times: Array<{ ms: number }> = []
  for (let i = 0; i < 21; i++) {
    const started = performance.now()
    const [container] = await docker.listContainers({ all: true, filters: { label } })
    await docker.getContainer(container!.Id).inspect()
    times.push({ ms: performance.now() - started })
  }
  progress(`one environment's docker list + inspect: ${median(times).ms.toFixed(1)} ms (p50 of 21)`)
}

async function repeat<T extends { ms: number }>(measure: () => Promise<T>): Promise<T[]> {
  const results: T[] = []
  for (let i = 0; i < RESYNC_RUNS; i++) results.push(await measure())
  return results
}

function median<T extends { ms: number }>(results: T[]): T {
  return [...results].sort((a, b) => a.ms - b.ms)[Math.floor(results.length / 2)]!
}

function progress(message: string): void {
  process.stderr.write(`idle: ${message}\n`)
}
