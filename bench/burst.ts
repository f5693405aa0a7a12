/**
 * A burst, on the whole product in this process (startServer: API + controller): 100 environments
 * of a prebuilt local image applied in one request, until every one is Available and answers; beside
 * it, what a shell loop does with the engine alone: 100 `docker run -d`, then polling each until it
 * answers. The process's CPU seconds over the burst are reported (API and controller together).
 */
import { execFile } from 'node:child_process'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { RunningServer } from '../src/main.js'
import { freePort } from '../test/helpers/net.js'
import { buildHttpImage, IMAGE, ok } from './http-app.js'
import { startProduct } from './product.js'
import { row, type BenchRow } from './table.js'

const COUNT = 100
const INSTANCE = 'bench-burst'
const run = promisify(execFile)

export async function runBurstBench(databaseUrl: string): Promise<BenchRow[]> {
  await buildHttpImage()
  // Each new environment's first revision counts as queued: the quotas must let 100 through.
  const quotas = { GILGAL_MAX_ENVIRONMENTS: String(COUNT), GILGAL_MAX_REPLICAS: String(COUNT) }
  const { server, api, stop } = await startProduct(databaseUrl, INSTANCE, {
    ...quotas,
    GILGAL_MAX_BUILDS: String(COUNT),
  })
  try {
    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    await api('POST', '/api/apply', manifest(), 'application/yaml')
    await allAnswering(server)
    const gilgalMs = performance.now() - started
    const cpu = process.cpuUsage(cpuBefore)
    const shellMs = await shellLoop()
    return [
      row({
        name: `burst: ${COUNT} environments in one apply -> all Available and answering`,
        value: gilgalMs,
        unit: 'ms',
        baseline: shellMs,
        baselineName: `${COUNT} docker run -d + poll`,
        target: '<= 1.3x',
        met: gilgalMs <= 1.3 * shellMs,
      }),
      row({
        name: 'burst: Gilgal CPU seconds (API + controller)',
        value: (cpu.user + cpu.system) / 1e6,
        unit: 's',
      }),
    ]
  } finally {
    await stop()
  }
}

function manifest(): string {
  const environments = Array.from(
    { length: COUNT },
    (_, i) => `---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: e${i}, project: bench-burst }
spec:
  source: { image: ${IMAGE} }
  port: 8080
  resources: { memory: 32Mi, cpus: 0.1 }
  healthCheck: { http: { path: / }, intervalSeconds: 1 }
  rollout: { drainSeconds: 0, monitorSeconds: 0 }
`,
  )
  return `apiVersion: gilgal.dev/v1\nkind: Project\nmetadata: { name: bench-burst }\nspec: {}\n${environments.join('')}`
}

async function allAnswering(server: RunningServer): Promise<void> {
  for (;;) {
    const { rows } = await server.database.pool.query<{ url: string | null }>(
      `select e.status->'urls'->>0 as url from environments e join projects p on p.id = e.project_id
        where p.name = 'bench-burst' and e.status->>'phase' = 'Available'`,
    )
    if (rows.length === COUNT && (await Promise.all(rows.map((r) => ok(r.url!)))).every(Boolean)) return
    await delay(50)
  }
}

/** `for i in $(seq 100); do docker run -d …; done`, then poll each until it answers. */
async function shellLoop(): Promise<number> {
  const ports = await Promise.all(Array.from({ length: COUNT }, () => freePort()))
  const started = performance.now()
  for (const hostPort of ports) {
    const labels = ['--label', `dev.gilgal.instance=${INSTANCE}`, '--memory', '32m', '--cpus', '0.1']
    await run('docker', ['run', '-d', ...labels, '-p', `127.0.0.1:${hostPort}:8080`, IMAGE])
  }
  for (const hostPort of ports) while (!(await ok(`http://127.0.0.1:${hostPort}/`))) await delay(10)
  return performance.now() - started
}
