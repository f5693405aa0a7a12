/**
 * `npm run bench`: every figure beside a baseline measured on this machine in this run (the machine
 * is shared and noisy, so ratios are what to compare), in one table (bench/table.ts). Not a test: it
 * asserts nothing; it prints each figure's target beside it and whether it is met.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { createLogger } from '../src/log.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/store/embedded.js'
import { migrate } from '../src/store/migrate.js'
import { runApiBench } from './api.js'
import { runBuildBench } from './build.js'
import { runBurstBench } from './burst.js'
import { runRolloutBench } from './rollout.js'
import { runRoutingBench } from './routing.js'
import { runWakeupBench } from './wakeup.js'
import { runWatchBench } from './watch.js'
import { printHeader, printRows, writeJson, type BenchRow } from './table.js'

const log = createLogger('warn')

const PARTS: Record<string, (databaseUrl: string) => Promise<BenchRow[]>> = {
  api: runApiBench,
  wakeup: runWakeupBench,
  build: runBuildBench,
  rollout: runRolloutBench,
  burst: runBurstBench,
  routing: runRoutingBench,
  watch: runWatchBench,
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
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-bench-'))
  await chmod(tempDir, 0o755)
  let embedded: EmbeddedDatabase | undefined
  const adminUrl =
    process.env.DATABASE_URL ??
    (embedded = await startEmbeddedPostgres({ dir: path.join(tempDir, 'pg'), port: 54391, log })).adminUrl
  try {
    const rows: BenchRow[] = []
    printHeader()
    for (const part of parts) {
      const measured = await inDatabaseOfItsOwn(adminUrl, part, (url) => PARTS[part]!(url))
      printRows(measured) // as each part ends: a whole run takes minutes
      rows.push(...measured)
    }
    const missed = rows.filter((r) => r.met === false)
    console.log(`\n${rows.filter((r) => r.met).length} targets met, ${missed.length} not met`)
    if (json) await writeJson(json, rows)
  } finally {
    await embedded?.stop()
    await rm(tempDir, { recursive: true, force: true })
  }
}

/**
 * Each part gets a migrated database of its own: what one part leaves behind (a thousand revisions,
 * builds of a repository since deleted) must not be work for the next part's controller.
 */
async function inDatabaseOfItsOwn<T>(
  adminUrl: string,
  part: string,
  run: (url: string) => Promise<T>,
): Promise<T> {
  const database = `gilgal_bench_${process.pid}_${part}`
  await admin(adminUrl, `create database ${database}`)
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  try {
    const pool = new pg.Pool({ connectionString: url.toString() })
    await migrate(pool, log)
    await pool.end()
    return await run(url.toString())
  } finally {
    await admin(adminUrl, `drop database if exists ${database} with (force)`)
  }
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query(sql)
  await client.end()
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
