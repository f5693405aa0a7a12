/**
 * Issue 16's figures: apply of an environment with a prebuilt local image -> its first HTTP 200, on
 * the Swarm runtime (GILGAL_RUNTIME=swarm, a one-node Swarm made for the part and left after) against
 * the docker runtime, both products running in this process at once and measured in turns; and what
 * Swarm itself costs: `docker service create` (port published on the node) + polling, against `docker
 * run -d` + polling.
 */
import { execFile } from 'node:child_process'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'
import { ensureSwarm, leaveSwarm } from '../test/helpers/swarm.js'
import { freePort } from '../test/helpers/net.js'
import { withDatabase } from './database.js'
import { buildHttpImage, IMAGE, ok } from './http-app.js'
import { summarize } from './load.js'
import { startProduct } from './product.js'
import { applyToFirst200, dockerRunToFirst200 } from './rollout.js'
import { row, type BenchRow } from './table.js'

const RUNS = 5
const run = promisify(execFile)

export async function runSwarmBench(databaseUrl: string, adminUrl: string): Promise<BenchRow[]> {
  await buildHttpImage()
  const initialized = await ensureSwarm()
  try {
    return await withDatabase(adminUrl, 'bench_swarm_docker', async (dockerUrl) => {
      const swarm = await startProduct(databaseUrl, 'bench-swarm', { GILGAL_RUNTIME: 'swarm' })
      const plain = await startProduct(dockerUrl, 'bench-docker')
      try {
        const samples = {
          swarm: [] as number[],
          docker: [] as number[],
          service: [] as number[],
          run: [] as number[],
        }
        for (let i = 0; i < RUNS; i++) {
          samples.swarm.push(await applyToFirst200(swarm.api, swarm.server, `s${i}`))
          samples.docker.push(await applyToFirst200(plain.api, plain.server, `d${i}`))
          samples.service.push(await serviceCreateToFirst200())
          samples.run.push(await dockerRunToFirst200())
        }
        return rows(samples)
      } finally {
        await swarm.stop()
        await plain.stop()
      }
    })
  } finally {
    await run('docker', ['rm', '-f', ...(await benchContainers())]).catch(() => undefined)
    if (initialized) leaveSwarm()
  }
}

function rows(samples: Record<'swarm' | 'docker' | 'service' | 'run', number[]>): BenchRow[] {
  const p50 = (list: number[]) => summarize(list).p50
  return [
    row({
      name: `apply -> first 200, swarm runtime, p50 (n=${RUNS})`,
      value: p50(samples.swarm),
      unit: 'ms',
      baseline: p50(samples.docker),
      baselineName: 'docker runtime',
    }),
    row({
      name: `docker service create -> first 200, p50 (n=${RUNS})`,
      value: p50(samples.service),
      unit: 'ms',
      baseline: p50(samples.run),
      baselineName: 'docker run + poll',
    }),
  ]
}

/** A one-task service of the bench image, its port published on this node, polled until it answers. */
async function serviceCreateToFirst200(): Promise<number> {
  const hostPort = await freePort()
  const started = performance.now()
  const args = [
    'service',
    'create',
    '-d',
    '--label',
    'dev.gilgal.instance=bench-swarm',
    '--endpoint-mode',
    'dnsrr',
  ]
  const publish = ['--publish', `mode=host,target=8080,published=${hostPort}`]
  const id = (await run('docker', [...args, ...publish, IMAGE])).stdout.trim()
  while (!(await ok(`http://127.0.0.1:${hostPort}/`))) await delay(10)
  const elapsed = performance.now() - started
  await run('docker', ['service', 'rm', id])
  return elapsed
}

async function benchContainers(): Promise<string[]> {
  const { stdout } = await run('docker', ['ps', '-aq', '--filter', 'label=dev.gilgal.instance=bench'])
  return stdout.split('\n').filter((id) => id !== '')
}
