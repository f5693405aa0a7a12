/**
 * Issue 12's figures, on the whole product (startServer: API + controller) routing through a Caddy of
 * its own:
 * - requests/s (autocannon) and p99 latency through Caddy to a fixture app, beside the same app hit
 *   directly at its container address, interleaved in one run: the ratio is Caddy's cost;
 * - failed requests across 10 consecutive start-first rollouts under a client sending about 200
 *   requests/s through Caddy (target 0), and how many it resent after a reload closed an idle
 *   connection before any answer (RFC 9112 9.3.1; browsers do the same).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import type { RunningServer } from '../src/main.js'
import { ensureLocalBaseImages, LOCAL_BASE } from '../test/helpers/base-images.js'
import { startCaddy, type TestCaddy } from '../test/helpers/caddy.js'
import { docker, followBuild } from '../test/helpers/docker.js'
import { get, sendTraffic } from '../test/helpers/traffic.js'
import { row, type BenchRow } from './table.js'
import { latencies, throughput } from './load.js'
import { startProduct } from './product.js'
import type { Api } from './session.js'

const IMAGE = 'gilgal-bench/node-http:1'
const INSTANCE = 'bench-routing'
const ROLLOUTS = 10
const ROUNDS = 3
const HOST = 'web--routed.localhost'

export async function runRoutingBench(databaseUrl: string): Promise<BenchRow[]> {
  await buildNodeHttpImage()
  const caddy = await startCaddy()
  const { server, api, stop } = await startProduct(databaseUrl, INSTANCE, {
    GILGAL_CADDY_ADMIN_URL: caddy.adminUrl,
    GILGAL_HTTP_PORT: String(caddy.httpPort),
    GILGAL_HTTPS_PORT: String(caddy.httpsPort),
  })
  try {
    await api('POST', '/api/apply', MANIFEST, 'application/yaml')
    const direct = await waitForUpstream(server, caddy)
    return [...(await compare(caddy, direct)), ...(await rollouts(api, server, caddy))]
  } finally {
    await stop()
    await caddy.stop()
    await docker.getImage(IMAGE).remove({ force: true })
  }
}

const MANIFEST = `apiVersion: gilgal.dev/v1
kind: Project
metadata: { name: routed }
spec: {}
---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: web, project: routed }
spec:
  source: { image: ${IMAGE} }
  port: 8080
  healthCheck: { http: { path: / }, intervalSeconds: 1 }
  rollout: { drainSeconds: 1, monitorSeconds: 0 }
`

/** Throughput and p99, through Caddy and direct, interleaved over a few rounds; medians of the rounds. */
async function compare(caddy: TestCaddy, direct: { host: string; port: number }): Promise<BenchRow[]> {
  const viaCaddy = { path: '/', headers: { host: HOST } }
  const plain = { path: '/' }
  const rps = { caddy: [] as number[], direct: [] as number[] }
  const p99 = { caddy: [] as number[], direct: [] as number[] }
  for (let round = 0; round < ROUNDS; round++) {
    rps.caddy.push(await throughput(caddy.httpPort, viaCaddy, 20, 3))
    rps.direct.push(await throughput(direct.port, plain, 20, 3, direct.host))
    p99.caddy.push((await latencies(caddy.httpPort, viaCaddy, 4, 3)).p99)
    p99.direct.push((await latencies(direct.port, plain, 4, 3, direct.host)).p99)
  }
  const [caddyRps, directRps] = [median(rps.caddy), median(rps.direct)]
  const [caddyP99, directP99] = [median(p99.caddy), median(p99.direct)]
  return [
    row({
      name: `through Caddy, 20 connections (median of ${ROUNDS})`,
      value: caddyRps,
      unit: 'req/s',
      baseline: directRps,
      baselineName: 'direct to the container',
    }),
    row({
      name: 'through Caddy, p99 (4 keep-alive clients)',
      value: caddyP99,
      unit: 'ms',
      baseline: directP99,
      baselineName: 'direct',
    }),
  ]
}

/** 10 deploys one after the other, each waited for until Active, under a steady client. */
async function rollouts(api: Api, server: RunningServer, caddy: TestCaddy): Promise<BenchRow[]> {
  const traffic = sendTraffic(caddy.httpPort, HOST, 200)
  for (let i = 0; i < ROLLOUTS; i++) {
    const deployment = await api(
      'POST',
      '/api/projects/routed/deployments',
      JSON.stringify({ environment: 'web' }),
    )
    await waitForActive(server, deployment.metadata.id as string)
  }
  const report = await traffic.stop()
  return [
    row({
      name: `failed requests across ${ROLLOUTS} rollouts (${report.requests} sent, ${report.perSecond.toFixed(0)}/s)`,
      value: report.failures,
      unit: '',
      target: '0',
      met: report.failures === 0,
    }),
    row({
      name: 'requests resent after a reload closed their idle connection',
      value: report.staleConnectionRetries,
      unit: '',
    }),
  ]
}

async function waitForUpstream(
  server: RunningServer,
  caddy: TestCaddy,
): Promise<{ host: string; port: number }> {
  for (;;) {
    const { rows } = await server.database.pool.query(
      `select status->'upstreams'->>0 as upstream from environments where name = 'web'`,
    )
    const upstream: string | undefined = rows[0]?.upstream ?? undefined
    if (upstream && (await answers(caddy.httpPort))) {
      const [host, port] = upstream.split(':')
      return { host: host!, port: Number(port) }
    }
    await delay(50)
  }
}

async function waitForActive(server: RunningServer, id: string): Promise<void> {
  for (;;) {
    const { rows } = await server.database.pool.query(
      `select status->>'phase' as phase from deployments where id = $1`,
      [id],
    )
    const phase: string | undefined = rows[0]?.phase
    if (phase === 'Active') return
    if (phase === 'Failed' || phase === 'Cancelled') throw new Error(`rollout ended ${phase}`)
    await delay(50)
  }
}

async function answers(port: number): Promise<boolean> {
  return get(port, HOST).then(
    (answer) => answer.status === 200,
    () => false,
  )
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** A keep-alive Node HTTP server on the local Node runtime image; it exits at once on SIGTERM. */
async function buildNodeHttpImage(): Promise<void> {
  await ensureLocalBaseImages()
  const context = await mkdtemp(path.join(os.tmpdir(), 'gilgal-bench-image-'))
  const server = [
    "process.on('SIGTERM', () => process.exit(0));",
    "require('http').createServer((req, res) => res.end('bench\\n')).listen(8080);",
  ].join(' ')
  await writeFile(
    path.join(context, 'Dockerfile'),
    [`FROM ${LOCAL_BASE.node}`, `CMD ${JSON.stringify(['node', '-e', server])}`].join('\n'),
  )
  await followBuild(await docker.buildImage({ context, src: ['Dockerfile'] }, { t: IMAGE, rm: true }))
  await rm(context, { recursive: true, force: true })
}
