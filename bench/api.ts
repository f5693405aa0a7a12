/**
 * The API's figures: the API runs in its own process (bench/server.ts) so the load generator does
 * not share its event loop; each figure is printed beside a baseline from the same run.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { Agent } from 'node:http'
import { createInterface } from 'node:readline'
import { latencies, send, throughput, type Call } from './load.js'
import { row, type BenchRow } from './table.js'

export async function runApiBench(databaseUrl: string): Promise<BenchRow[]> {
  // GILGAL_BENCH_PROFILE=DIR: the API process writes a V8 CPU profile there (what the closing note cites).
  const profile = process.env.GILGAL_BENCH_PROFILE
  const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []
  const server = spawn(process.execPath, [...flags, '--import', 'tsx', 'bench/server.ts', databaseUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const [line] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string]
    return await measure(JSON.parse(line) as { api: number; bare: number })
  } finally {
    server.kill('SIGTERM')
    await once(server, 'exit')
  }
}

async function call(
  port: number,
  method: string,
  path: string,
  body?: object,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body && JSON.stringify(body),
  })
  if (response.status >= 300)
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return response.json() as Promise<Record<string, any>> // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function measure(ports: { api: number; bare: number }): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  // Names of its own: every bench shares one database, and names are installation-wide.
  const credentials = { email: 'bench-api@example.com', password: 'bench-password-1' }
  const session = await call(ports.api, 'POST', '/api/auth/register', {
    ...credentials,
    username: 'bench-api',
  })
  const auth = { authorization: `Bearer ${session.accessToken}` }
  const project = await call(
    ports.api,
    'POST',
    '/api/projects',
    { name: 'bench-api', spec: { repository: { url: 'https://git.example.com/b.git' } } },
    auth,
  )
  for (let i = 0; i < 3; i++)
    await call(
      ports.api,
      'POST',
      `/api/projects/${project.metadata.id}/environments`,
      { name: `env-${i}` },
      auth,
    )

  // 1. Authenticated list vs a bare Fastify route.
  const bare = await throughput(ports.bare, { path: '/hello' })
  const list = await throughput(ports.api, {
    path: `/api/projects/${project.metadata.id}/environments`,
    headers: auth,
  })
  const name = 'GET environments, authenticated (50 connections)'
  rows.push(row({ name, value: list, unit: 'req/s', baseline: bare, baselineName: 'bare Fastify' }))
  const oneQuery = await throughput(ports.bare, { path: '/one-query' })
  const parts = `?user=${session.user.id}&project=${project.metadata.id}`
  const listQuery = await throughput(ports.bare, { path: `/list-query${parts}` })
  const presented = await throughput(ports.bare, { path: `/list-presented${parts}` })
  rows.push(
    row({
      name,
      value: list,
      unit: 'req/s',
      baseline: oneQuery,
      baselineName: 'Fastify + 1 query',
      target: '>= 0.6x',
      met: list >= 0.6 * oneQuery,
    }),
  )
  // Where the gap goes: each step adds one part of the route, measured alone.
  const steps = [
    ['the list query (bare Fastify)', listQuery, 'Fastify + 1 query', oneQuery],
    ['+ presenting and the response schema', presented, 'the list query', listQuery],
    ['+ auth and the API hooks (= the API)', list, 'presenting too', presented],
  ] as const
  for (const [step, value, baselineName, baseline] of steps)
    rows.push(row({ name: `GET environments, ${step}`, value, unit: 'req/s', baseline, baselineName }))

  // 2. Apply of one environment at 50 concurrent, from 50 users, vs /health at 50 concurrent. (One
  // user's writes pass their quota check one at a time, and 120 a minute at most by default: 50 of
  // one user at once is no longer what the API is for.)
  const health50 = await latencies(ports.api, { path: '/health' }, 50, 5)
  const tenants: Array<Record<string, string>> = []
  for (let k = 0; k < 50; k++) {
    const tenant = await call(ports.api, 'POST', '/api/auth/register', {
      email: `bench-tenant-${k}@example.com`,
      username: `bench-tenant-${k}`,
      password: 'bench-password-1',
    })
    const headers = { authorization: `Bearer ${tenant.accessToken}` }
    await call(
      ports.api,
      'POST',
      '/api/projects',
      { name: `bench-api-${k}`, spec: { repository: { url: 'https://git.example.com/b.git' } } },
      headers,
    )
    tenants.push(headers)
  }
  const apply: Call = {
    method: 'POST',
    path: '/api/apply',
    headers: (i) => ({ ...tenants[i % 50], 'content-type': 'application/yaml' }),
    body: (i) =>
      `apiVersion: gilgal.dev/v1\nkind: Environment\nmetadata: { name: apply, project: bench-api-${i % 50} }\nspec: { env: { RUN: "${i}" } }\n`,
  }
  // Created first, one by one: two concurrent creations of one name are a conflict (409), by design.
  for (let i = 0; i < 50; i++) {
    if ((await send(ports.api, apply, new Agent(), i)) !== 200) throw new Error(`apply of tenant ${i} failed`)
  }
  const applied = await latencies(ports.api, apply, 50, 5)
  rows.push(
    row({
      name: `apply 1 environment, p99 (50 users at once, n=${applied.count})`,
      value: applied.p99,
      unit: 'ms',
      baseline: health50.p99,
      baselineName: '/health p99',
      target: '<= 20 ms',
      met: applied.p99 <= 20,
    }),
    row({
      name: 'apply 1 environment, p50',
      value: applied.p50,
      unit: 'ms',
      baseline: health50.p50,
      baselineName: '/health p50',
    }),
  )

  // 3. /health while 20 logins (bcrypt cost 12) run at once, vs idle.
  const idle = await latencies(ports.api, { path: '/health' }, 4, 4)
  const loginAgent = new Agent({ keepAlive: true, maxSockets: 20 })
  let stop = false
  let logins = 0
  const login: Call = {
    method: 'POST',
    path: '/api/auth/login',
    headers: { 'content-type': 'application/json' },
    body: () => JSON.stringify(credentials),
  }
  const loops = Array.from({ length: 20 }, async () => {
    while (!stop) if ((await send(ports.api, login, loginAgent, 0)) === 200) logins++
  })
  const busy = await latencies(ports.api, { path: '/health' }, 4, 4)
  stop = true
  await Promise.all(loops)
  loginAgent.destroy()
  rows.push(healthRow(`/health p99, 20 logins at once (${logins} done)`, busy, idle))

  rows.push(await healthWhileParsing(ports.api, auth, idle))
  return rows
}

/** /health while the largest YAML body the API accepts (just under 1 MiB) is applied again and again. */
async function healthWhileParsing(
  port: number,
  auth: Record<string, string>,
  idle: { p99: number },
): Promise<BenchRow> {
  const labels = Array.from({ length: 70_000 }, (_, i) => `    l${i}: v`).join('\n')
  const largest: Call = {
    method: 'POST',
    path: '/api/apply',
    headers: { ...auth, 'content-type': 'application/yaml' },
    body: () => `apiVersion: gilgal.dev/v1\nkind: Project\nmetadata:\n  name: big\n  labels:\n${labels}\n`,
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  let stop = false
  let parsed = 0
  const loop = (async () => {
    while (!stop) if ((await send(port, largest, agent, 0)) === 422) parsed++
  })()
  const busy = await latencies(port, { path: '/health' }, 4, 4)
  stop = true
  await loop
  agent.destroy()
  return healthRow(`/health p99, largest YAML applied meanwhile (${parsed} done)`, busy, idle)
}

function healthRow(name: string, busy: { p99: number }, idle: { p99: number }): BenchRow {
  const baseline = { baseline: idle.p99, baselineName: 'idle p99' }
  return row({
    name,
    value: busy.p99,
    unit: 'ms',
    ...baseline,
    target: '<= 2x',
    met: busy.p99 <= 2 * idle.p99,
  })
}
