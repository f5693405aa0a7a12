/**
 * Issue 6's figures, on the whole product in this process (startServer: API + controller, as
 * `gilgal server` runs them):
 * - apply of an environment with a prebuilt local image → first HTTP 200 from it, against `docker run
 *   -d` of the same image by the CLI plus polling until 200 (interleaved, fresh each run);
 * - a container killed (docker kill) → its replacement answering through the environment's URL,
 *   with a 0.5 s probe interval; beside it, the same kill and `docker start` by the CLI.
 */
import { execFile } from 'node:child_process'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { RunningServer } from '../src/main.js'
import { docker } from '../test/helpers/docker.js'
import { freePort } from '../test/helpers/net.js'
import { appManifest, buildHttpImage, IMAGE, ok } from './http-app.js'
import { row, type BenchRow } from './table.js'
import { summarize } from './load.js'
import { startProduct } from './product.js'
import type { Api } from './session.js'

const APPLY_RUNS = 5
const KILL_RUNS = 20
const run = promisify(execFile)

export async function runRolloutBench(databaseUrl: string): Promise<BenchRow[]> {
  await buildHttpImage()
  const { server, api, stop } = await startProduct(databaseUrl, 'bench')
  try {
    const apply: number[] = []
    const cli: number[] = []
    for (let i = 0; i < APPLY_RUNS; i++) {
      apply.push(await applyToFirst200(api, server, `a${i}`))
      cli.push(await dockerRunToFirst200())
    }
    const kills = await killToHealthy(api, server)
    const cliKills = await cliKillToHealthy()
    const applyP50 = summarize(apply).p50
    const cliP50 = summarize(cli).p50
    const applyLimit = 1.1 * cliP50 + 100
    return [
      row({
        name: `apply -> first 200 of a local image, p50 (n=${APPLY_RUNS})`,
        value: applyP50,
        unit: 'ms',
        baseline: cliP50,
        baselineName: 'docker run + poll',
        target: `<= 1.1x + 100 ms = ${applyLimit.toFixed(0)}`,
        met: applyP50 <= applyLimit,
      }),
      row({
        name: `crash -> serving again, p99 (n=${KILL_RUNS}, probe 0.5 s)`,
        value: kills.p99,
        unit: 'ms',
        baseline: cliKills.p99,
        baselineName: 'docker start + poll p99',
        target: '<= 1500 ms and <= 1.1x',
        met: kills.p99 <= 1500 && kills.p99 <= 1.1 * cliKills.p99,
      }),
      row({
        name: 'crash -> serving again, p50',
        value: kills.p50,
        unit: 'ms',
        baseline: cliKills.p50,
        baselineName: 'docker start + poll p50',
      }),
    ]
  } finally {
    await stop()
    await docker.getImage(IMAGE).remove({ force: true })
  }
}

async function environmentUrl(server: RunningServer, name: string): Promise<string | undefined> {
  const { rows } = await server.database.pool.query(
    `select status->'urls'->>0 as url from environments where name = $1`,
    [name],
  )
  return rows[0]?.url ?? undefined
}

export async function applyToFirst200(api: Api, server: RunningServer, name: string): Promise<number> {
  const started = performance.now()
  await api('POST', '/api/apply', appManifest('bench', name, 1), 'application/yaml')
  for (;;) {
    const url = await environmentUrl(server, name)
    if (url && (await ok(url))) return performance.now() - started
    await delay(10)
  }
}

/** `docker run -d` of the bench image by the CLI, its port published on loopback; resolves with its id. */
async function dockerRun(hostPort: number): Promise<string> {
  const args = [
    'run',
    '-d',
    '--label',
    'dev.gilgal.instance=bench',
    '-p',
    `127.0.0.1:${hostPort}:8080`,
    IMAGE,
  ]
  return (await run('docker', args)).stdout.trim()
}

export async function dockerRunToFirst200(): Promise<number> {
  const hostPort = await freePort()
  const started = performance.now()
  await dockerRun(hostPort)
  while (!(await ok(`http://127.0.0.1:${hostPort}/`))) await delay(10)
  return performance.now() - started
}

async function killToHealthy(api: Api, server: RunningServer) {
  await api('POST', '/api/apply', appManifest('bench', 'kill', 0.5), 'application/yaml')
  const samples: number[] = []
  for (let i = 0; i < KILL_RUNS; i++) {
    await waitForUrl(server)
    const [victim] = await docker.listContainers({
      filters: {
        label: ['dev.gilgal.instance=bench', 'dev.gilgal.revision'],
        name: ['gilgal-bench-bench--kill-'],
      },
    })
    const killedAt = performance.now()
    await docker.getContainer(victim!.Id).kill()
    for (;;) {
      const info = await docker.getContainer(victim!.Id).inspect()
      const url = await environmentUrl(server, 'kill')
      if (info.State.Running && url && (await ok(url))) break
      await delay(10)
    }
    samples.push(performance.now() - killedAt)
  }
  return summarize(samples)
}

async function waitForUrl(server: RunningServer): Promise<string> {
  for (;;) {
    const url = await environmentUrl(server, 'kill')
    if (url && (await ok(url))) return url
    await delay(20)
  }
}

async function cliKillToHealthy() {
  const hostPort = await freePort()
  const id = await dockerRun(hostPort)
  const samples: number[] = []
  for (let i = 0; i < KILL_RUNS; i++) {
    while (!(await ok(`http://127.0.0.1:${hostPort}/`))) await delay(10)
    const killedAt = performance.now()
    await run('docker', ['kill', id])
    await run('docker', ['start', id])
    while (!(await ok(`http://127.0.0.1:${hostPort}/`))) await delay(10)
    samples.push(performance.now() - killedAt)
  }
  return summarize(samples)
}
