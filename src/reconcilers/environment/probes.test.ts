import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import type { ContainerDetails } from '../../runtime/runtime.js'
import type { HealthCheck } from '../../model/specs.js'
import { ProbeTracker } from './probes.js'

let server: http.Server
let status = 500
const check: HealthCheck = {
  http: { path: '/healthz' },
  intervalSeconds: 1,
  timeoutSeconds: 1,
  healthyThreshold: 2,
  failureThreshold: 2,
  startPeriodSeconds: 0,
}

before(async () => {
  server = http.createServer((request, response) =>
    response.writeHead(request.url === '/healthz' ? status : 404).end(),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
})

after(() => server.close())

function container(startedAt = '2026-11-25T12:00:00Z'): ContainerDetails {
  return {
    id: 'c1',
    name: 'c1',
    labels: {},
    running: true,
    status: 'running',
    exitCode: 0,
    restartCount: 0,
    oomKilled: false,
    startedAt,
    dockerHealth: undefined,
    dockerHealthOutput: undefined,
    address: { host: '127.0.0.1', port: (server.address() as AddressInfo).port },
    networkAddress: undefined,
  }
}

test('healthy after healthyThreshold passes; probes keep their interval once a container has passed', async () => {
  const probes = new ProbeTracker()
  const t = Date.parse('2026-11-25T12:00:10Z')
  status = 200
  assert.equal((await probes.probe(container(), check, t)).verdict, 'starting', 'one pass of two')
  assert.equal(
    (await probes.probe(container(), check, t + 300)).verdict,
    'starting',
    'not probed again within the interval',
  )
  assert.equal((await probes.probe(container(), check, t + 1000)).verdict, 'healthy')
})

test('a starting container is probed every 100 ms, but failures count once per interval', async () => {
  const probes = new ProbeTracker()
  const t = Date.parse('2026-11-25T12:00:10Z')
  status = 500
  const first = await probes.probe(container(), check, t)
  assert.deepEqual(first, { verdict: 'starting', lastError: 'GET /healthz answered 500' })
  assert.equal(
    (await probes.probe(container(), check, t + 100)).verdict,
    'starting',
    'the second failure came too soon to count',
  )
  assert.equal((await probes.probe(container(), check, t + 1000)).verdict, 'unhealthy')
  status = 200
  const restarted = await probes.probe(container('2026-11-25T12:00:20Z'), check, t + 1100)
  assert.deepEqual(
    restarted,
    { verdict: 'starting', lastError: undefined },
    'a restarted container is judged afresh',
  )
})

test('failures in the start period do not count; a refused connection says so', async () => {
  const probes = new ProbeTracker()
  const t = Date.parse('2026-11-25T12:00:01Z')
  const closed = { ...container(), address: { host: '127.0.0.1', port: 9 } }
  const patient = { ...check, startPeriodSeconds: 30 }
  for (const offset of [0, 1000, 2000, 3000]) {
    assert.equal((await probes.probe(closed, patient, t + offset)).verdict, 'starting')
  }
  const { lastError } = await probes.probe(closed, patient, t + 4000)
  assert.equal(lastError, 'GET /healthz failed: connection refused')
})

test('tcp probes pass on a connection and fail on a refusal; none always passes', async () => {
  const probes = new ProbeTracker()
  const t = Date.parse('2026-11-25T12:00:10Z')
  const tcp = { ...check, http: undefined, tcp: {}, healthyThreshold: 1 }
  assert.equal((await probes.probe(container(), tcp, t)).verdict, 'healthy')
  const closed = { ...container(), id: 'c2', address: { host: '127.0.0.1', port: 9 } }
  const refused = await probes.probe(closed, tcp, t)
  assert.deepEqual(refused, { verdict: 'starting', lastError: 'tcp: connection refused' })
  const none = { ...check, http: undefined, none: true as const, healthyThreshold: 1 }
  assert.equal((await probes.probe({ ...closed, id: 'c3' }, none, t)).verdict, 'healthy')
})

test("an exec check Docker has not judged yet counts no failure; Docker's verdict then decides", async () => {
  const exec: HealthCheck = { ...check, http: undefined, exec: { command: ['true'] }, failureThreshold: 1 }
  const tracker = new ProbeTracker()
  const starting = { ...container(), dockerHealth: 'starting' as const }
  const started = Date.parse(starting.startedAt!)
  for (const after of [0, 5_000, 60_000]) {
    const result = await tracker.probe(starting, exec, started + after)
    assert.deepEqual(result, { verdict: 'starting', lastError: 'exec: no result yet' })
  }
  const unhealthy = { ...container(), dockerHealth: 'unhealthy' as const }
  assert.equal((await tracker.probe(unhealthy, exec, started + 61_000)).verdict, 'unhealthy')
})
