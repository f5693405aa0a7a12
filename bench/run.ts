/**
 * `npm run bench`: every figure beside a baseline measured on this machine in this run (the machine
 * is shared and noisy, so ratios are what to compare), in one table (bench/table.ts). Not a test: it
 * asserts nothing; it prints each figure's target beside it and whether it is met.
 */
import { runApiBench } from './api.js'
import { runBuildBench } from './build.js'
import { runBurstBench } from './burst.js'
import { withDatabase, withPostgres } from './database.js'
import { runIdleBench } from './idle.js'
import { runRolloutBench } from './rollout.js'
import { runRoutingBench } from './routing.js'
import { runSwarmBench } from './swarm.js'
import { runTimelineBench } from './timeline.js'
import { runWakeupBench } from './wakeup.js'
import { runWatchBench } from './watch.js'
import { printHeader, printRows, writeJson, type BenchRow } from './table.js'

/** Each part gets a database of its own, and the server's admin URL should it need another. */
const PARTS: Record<string, (databaseUrl: string, adminUrl: string) => Promise<BenchRow[]>> = {
  api: runApiBench,
  wakeup: runWakeupBench,
  build: runBuildBench,
  rollout: runRolloutBench,
  timeline: runTimelineBench,
  burst: runBurstBench,
  routing: runRoutingBench,
  watch: runWatchBench,
  idle: runIdleBench,
  swarm: runSwarmBench,
}

/** `npm run bench [-- PART…] [--json FILE]`: every part, or those named. */
function parseArguments(argv: string[]): { parts: string[]; json?: string } {
  const json = argv.indexOf('--json')
  const file = json >= 0 ? argv[json + 1] : undefined
  if (json >= 0 && !file) throw new Error('--json needs a file name')
  const names = json < 0 ? argv : argv.filter((_, i) => i !== json && i !== json + 1)
  const unknown = names.filter((name) => !(name in PARTS))
  if (unknown.length > 0)
    throw new Error(`unknown part ${unknown.join(', ')}: ${Object.keys(PARTS).join(', ')}`)
  return { parts: names.length > 0 ? names : Object.keys(PARTS), ...(file ? { json: file } : {}) }
}

async function main(): Promise<void> {
  const { parts, json } = parseArguments(process.argv.slice(2))
  await withPostgres(async (adminUrl) => {
    const rows: BenchRow[] = []
    printHeader()
    for (const part of parts) {
      const measured = await withDatabase(adminUrl, `bench_${part}`, (url) => PARTS[part]!(url, adminUrl))
      printRows(measured) // as each part ends: a whole run takes minutes
      rows.push(...measured)
    }
    const missed = rows.filter((r) => r.met === false)
    console.log(`\n${rows.filter((r) => r.met).length} targets met, ${missed.length} not met`)
    if (json) await writeJson(json, rows)
  })
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
