/**
 * `npm run bench`: every figure beside a baseline measured on this machine in this run (the machine
 * is shared and noisy, so ratios are what to compare). Not a test: it asserts nothing; it prints each
 * figure's target beside it.
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
import { runRolloutBench } from './rollout.js'
import { runRoutingBench } from './routing.js'
import { runWakeupBench } from './wakeup.js'
import { runWatchBench } from './watch.js'

const log = createLogger('warn')
const HEADER = ['figure', 'value', 'baseline (same run)', 'ratio', 'target']

async function main(): Promise<void> {
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-bench-'))
  await chmod(tempDir, 0o755)
  let embedded: EmbeddedDatabase | undefined
  const adminUrl =
    process.env.DATABASE_URL ??
    (embedded = await startEmbeddedPostgres({ dir: path.join(tempDir, 'pg'), port: 54391, log })).adminUrl
  const database = `gilgal_bench_${process.pid}`
  await admin(adminUrl, `create database ${database}`)
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  try {
    const pool = new pg.Pool({ connectionString: url.toString() })
    await migrate(pool, log)
    await pool.end()
    const only = process.argv[2]
    const rows = [
      ...(only === undefined || only === 'api' ? await runApiBench(url.toString()) : []),
      ...(only === undefined || only === 'wakeup' ? await runWakeupBench(url.toString()) : []),
      ...(only === undefined || only === 'build' ? await runBuildBench(url.toString()) : []),
      ...(only === undefined || only === 'rollout' ? await runRolloutBench(url.toString()) : []),
      ...(only === undefined || only === 'routing' ? await runRoutingBench(url.toString()) : []),
      ...(only === undefined || only === 'watch' ? await runWatchBench(url.toString()) : []),
    ]
    print([HEADER, ...rows])
  } finally {
    await admin(adminUrl, `drop database if exists ${database} with (force)`)
    await embedded?.stop()
    await rm(tempDir, { recursive: true, force: true })
  }
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query(sql)
  await client.end()
}

function print(rows: string[][]): void {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '))
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
