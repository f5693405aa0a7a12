/**
 * `npm run soak -- [--minutes N] [--seed S]`: the whole product in this process (API + controller,
 * bench/product.ts) on a database of its own, and 20 environments of a local image driven for N
 * minutes by random valid changes through the API (config changes, scales, deploys, rollbacks,
 * cancels) while their containers are killed at random. Then the changes and kills stop, and the
 * invariants must hold within a deadline (bench/soak-check.ts); the process's memory growth over the
 * run is reported. Exit code 0 when every invariant holds, 1 when one does not, 2 for a bad command line.
 */
import type { AddressInfo } from 'node:net'
import { withDatabase, withPostgres } from './database.js'
import { buildHttpImage } from './http-app.js'
import { startProduct, type Product } from './product.js'
import { killAtRandom, MemorySampler, memoryReport, type KillStats } from './soak-chaos.js'
import type { SoakDeps } from './soak-check.js'
import { soakClient, Tally } from './soak-client.js'
import { converge } from './soak-converge.js'
import { allManifests, ENVIRONMENT_COUNT, initialModels, runLoad } from './soak-load.js'
import { parseSoakArguments, Random, UsageError, type SoakOptions } from './soak-options.js'
import { printSummary } from './soak-report.js'

// Of its own (the pid): two soaks on one engine, or the leftovers of one killed hard, never meet.
const INSTANCE = `soak-${process.pid}`
// Above what 20 environments of up to 3 replicas, a revision or two in flight each and ~1 write a
// second need: a quota refusal would be the soak's mistake, not the product's.
const QUOTAS = {
  GILGAL_MAX_ENVIRONMENTS: '100',
  GILGAL_MAX_REPLICAS: '1000',
  GILGAL_MAX_BUILDS: '1000',
  GILGAL_MAX_WRITES_PER_MINUTE: '100000',
}
const SAMPLE_MS = 10_000
const PROGRESS_MS = 60_000
const FIRST_ROLLOUT_SECONDS = 180
const CONVERGE_SECONDS = 120

async function main(): Promise<void> {
  const options = parseSoakArguments(process.argv.slice(2))
  // Ctrl-C ends the run early but still reports and cleans up (containers, PostgreSQL); a second one
  // gets Node's default: exit at once.
  const interrupt = new AbortController()
  process.once('SIGINT', () => {
    console.log('\ninterrupted: stopping the changes and kills, one last look, then cleaning up')
    interrupt.abort()
  })
  console.log(`soak: ${options.minutes} min, ${ENVIRONMENT_COUNT} environments, seed ${options.seed}`)
  await buildHttpImage()
  const passed = await withPostgres((adminUrl) =>
    withDatabase(adminUrl, 'soak', async (url) => {
      const product = await startProduct(url, INSTANCE, QUOTAS)
      try {
        return await soak(product, options, interrupt.signal)
      } finally {
        await product.stop() // removes the instance's containers, network and data dir
      }
    }),
  )
  process.exitCode = passed ? 0 : 1
}

/** The first rollout, the run, the wait for the invariants, the summary. True when they hold. */
async function soak(product: Product, options: SoakOptions, interrupted: AbortSignal): Promise<boolean> {
  const random = new Random(options.seed)
  const deps = await connect(product, initialModels(random))
  const first = await firstRollout(deps, interrupted)
  console.log(`${ENVIRONMENT_COUNT} environments Available in ${first.toFixed(1)} s; soaking`)
  const memory = new MemorySampler(SAMPLE_MS)
  const { kills, loadSeconds } = await changeAndKill(deps, random, options.minutes, memory, interrupted)
  console.log(`changes and kills stopped after ${loadSeconds.toFixed(0)} s; waiting for the invariants`)
  const convergence = await converge(deps, CONVERGE_SECONDS, interrupted)
  // Warm-up: the first tenth of the run, at most a minute: caches, pools and JIT fill in then.
  const warmup = Math.min(60, loadSeconds / 10)
  return printSummary({
    options,
    environments: ENVIRONMENT_COUNT,
    firstRolloutSeconds: first,
    loadSeconds,
    tally: deps.tally,
    kills,
    convergence,
    memory: memoryReport(memory.samples, warmup, loadSeconds),
    afterConvergence: memory.sample(),
    collected: memory.collected,
    interrupted: interrupted.aborted,
  })
}

/** The run itself: `minutes` of random changes, and kills beside them; the sampler stops with it. */
async function changeAndKill(
  deps: SoakDeps,
  random: Random,
  minutes: number,
  memory: MemorySampler,
  interrupted: AbortSignal,
): Promise<{ kills: KillStats; loadSeconds: number }> {
  const kills: KillStats = { kills: 0, missed: 0, errors: [] }
  const stopKills = new AbortController()
  const killing = killAtRandom(
    random.fork(),
    INSTANCE,
    AbortSignal.any([stopKills.signal, interrupted]),
    kills,
  )
  const progress = setInterval(() => printProgress(deps.tally, kills, memory), PROGRESS_MS)
  try {
    await runLoad(
      { ...deps, random: random.fork(), values: { next: 0 } },
      Date.now() + minutes * 60_000,
      interrupted,
    )
  } finally {
    stopKills.abort()
    await killing
    clearInterval(progress)
    memory.stop()
  }
  return { kills, loadSeconds: memory.sample().at }
}

/**
 * The soak's client: an API key of the product's user (an access token would expire in 15 minutes,
 * mid-soak), on the port the product's server listens on.
 */
async function connect(product: Product, models: SoakDeps['models']): Promise<SoakDeps> {
  const created = await product.api(
    'POST',
    '/api/auth/api-keys',
    JSON.stringify({ name: 'soak', scope: 'write' }),
  )
  const { port } = product.server.app.server.address() as AddressInfo
  const tally = new Tally()
  const call = soakClient(`http://127.0.0.1:${port}`, created.key as string, tally)
  return { call, tally, pool: product.server.database.pool, instance: INSTANCE, models }
}

/** The project and every environment in one apply, until every invariant holds; its seconds. */
async function firstRollout(deps: SoakDeps, interrupted: AbortSignal): Promise<number> {
  const answer = await deps.call('POST', '/api/apply', allManifests(deps.models), 'application/yaml')
  if (deps.tally.classify(answer, 'first apply') !== 'ok') throw new Error(deps.tally.failures.join('; '))
  const first = await converge(deps, FIRST_ROLLOUT_SECONDS, interrupted)
  if (interrupted.aborted) throw new Error('interrupted during the first rollout')
  if (!first.converged) {
    const problems = first.checks.flatMap((c) => c.problems).slice(0, 10)
    throw new Error(
      `the first rollout did not converge in ${FIRST_ROLLOUT_SECONDS} s: ${problems.join('; ')}`,
    )
  }
  return first.seconds
}

function printProgress(tally: Tally, kills: KillStats, memory: MemorySampler): void {
  const last = memory.sample()
  const actions = [...tally.actions.values()].reduce((sum, n) => sum + n, 0)
  console.log(
    `  t=${last.at.toFixed(0)} s: ${actions} actions, ${kills.kills} kills, ` +
      `${tally.failureCount} failed answers, ` +
      `RSS ${last.rssMb.toFixed(1)} MB, heap ${last.heapMb.toFixed(1)} MB`,
  )
}

main().catch((error: unknown) => {
  console.error(`soak: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(error instanceof UsageError ? 2 : 1)
})
