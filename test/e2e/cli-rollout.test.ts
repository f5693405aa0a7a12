import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { WatchHub } from '../../src/api/watch-hub.js'
import { buildTestApp } from '../helpers/app.js'
import { LOCAL_BASE } from '../helpers/base-images.js'
import { gilgal, serveForCli, startCli, type CliEnv } from '../helpers/cli.js'
import { startTestController, type TestController } from '../helpers/controller.js'
import { createTestDatabase, testEnv, testLog, type TestDatabase } from '../helpers/db.js'
import { waitFor } from '../helpers/wait.js'

// The built `gilgal` against a whole Gilgal: the API, a controller and the real Docker engine.
const { runId } = testEnv()
const project = `cli-${runId}`
let db: TestDatabase
let controller: TestController
let server: CliEnv & { close(): Promise<void> }
let hub: WatchHub

before(async () => {
  db = await createTestDatabase()
  controller = await startTestController(db, 'cli')
  hub = new WatchHub(db.url, testLog)
  await hub.start()
  server = await serveForCli(await buildTestApp(db.pool, { runtime: controller.runtime, watch: hub }))
  const user = { email: 'ops@example.com', username: 'ops', password: 'correct horse battery' }
  await fetch(`${server.url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(user),
  })
  const login = await gilgal(['login', '-e', user.email, '--password-stdin'], server, user.password)
  assert.equal(login.code, 0, login.stderr)
})

after(async () => {
  await server?.close()
  await hub?.stop()
  await controller?.stop()
  await db?.drop()
})

// A Node app that says so in its log for every request; `healthStatus` is what its /health answers.
function manifest(healthStatus: number): string {
  const app = `process.on('SIGTERM', () => process.exit(0)); require('http').createServer((q, s) => { console.log('request ' + q.url); s.statusCode = q.url === '/health' ? ${healthStatus} : 200; s.end('ok') }).listen(8080)`
  return `apiVersion: gilgal.dev/v1
kind: Project
metadata: { name: ${project} }
spec: {}
---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: production, project: ${project} }
spec:
  source: { image: ${LOCAL_BASE.node} }
  port: 8080
  command: ${JSON.stringify(['node', '-e', app])}
  healthCheck: { http: { path: /health }, intervalSeconds: 1 }
  rollout: { progressDeadlineSeconds: 12, drainSeconds: 0, monitorSeconds: 0 }
`
}

async function file(name: string, text: string): Promise<string> {
  const at = path.join(server.configDir, name)
  await writeFile(at, text)
  return at
}

test('apply --wait of a good app exits 0 once it is Active, and logs -f shows what it prints next', async () => {
  const applied = await gilgal(['apply', '-f', await file('good.yaml', manifest(200)), '--wait'], server)
  assert.equal(applied.code, 0, applied.stderr)
  assert.match(applied.stdout, /revision 1: Active, environment Available, 1\/1 ready/)
  const [revision] = JSON.parse(
    (await gilgal(['get', 'deployments', '-p', project, '-o', 'json'], server)).stdout,
  ).items
  assert.deepEqual(
    revision.status.containers.map((c: Record<string, unknown>) => [c.state, c.health]),
    [['running', 'healthy']],
    'the revision says what runs',
  )
  assert.equal(typeof revision.status.durationMs, 'number')
  // The revision's log holds its rollout after its build (here: a prebuilt image, so only the rollout).
  const steps = await gilgal(['logs', `${project}/production/r1`], server)
  assert.equal(steps.code, 0, steps.stderr)
  assert.match(
    steps.stdout,
    /deploying: starting containers[\s\S]*starting replica 0[\s\S]*traffic switched[\s\S]*Active/,
  )

  const logs = startCli(['logs', `${project}/production`, '-f', '--tail', '0'], server)
  try {
    const environment = JSON.parse(
      (await gilgal(['get', 'environments', '-p', project, '-o', 'json'], server)).stdout,
    ).items[0]
    // The follower connects some time after it starts: ask until one of the requests shows in it.
    await waitFor(
      'a request made after logs -f started to show in it',
      async () => {
        assert.equal((await fetch(`${environment.status.urls[0]}/after-the-command-started`)).status, 200)
        return /request \/after-the-command-started/.test(logs.stdout()) || undefined
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    )
  } finally {
    logs.child.kill()
  }
})

test('events -w and get -w print what happens after they started', async () => {
  const watching = startCli(['events', '-w', '-p', project], server)
  const listing = startCli(['get', 'environments', '-p', project, '-w'], server)
  try {
    await waitFor('the recorded events', async () =>
      /RolloutComplete/.test(watching.stdout()) ? true : undefined,
    )
    await waitFor('the list', async () =>
      /production\s+Available\s+1\/1/.test(listing.stdout()) ? true : undefined,
    )
    const twoReplicas = manifest(200).replace('port: 8080', 'port: 8080\n  replicas: 2')
    const scaled = await gilgal(['apply', '-f', await file('scaled.yaml', twoReplicas)], server)
    assert.equal(scaled.code, 0, scaled.stderr)
    await waitFor('the new event', async () =>
      /Configured\s+environment\/production/.test(watching.stdout()) ? true : undefined,
    )
    await waitFor('the environment again, with two replicas wanted', async () =>
      /production\s+\S+\s+\d\/2/.test(listing.stdout()) ? true : undefined,
    )
  } finally {
    watching.child.kill()
    listing.child.kill()
  }
})

test('apply --wait of an app whose health check fails exits non-zero with HealthCheckFailed; rollout status too', async () => {
  const applied = await gilgal(['apply', '-f', await file('bad.yaml', manifest(500)), '--wait'], server)
  assert.equal(applied.code, 1, applied.stdout)
  assert.match(applied.stderr, /^gilgal: revision 2 failed: HealthCheckFailed, rolled back/)
  const status = await gilgal(['rollout', 'status', `${project}/production`], server)
  assert.equal(status.code, 1)
  assert.match(status.stderr, /HealthCheckFailed/)
  const history = await gilgal(['rollout', 'history', `${project}/production`], server)
  assert.match(history.stdout, /r2\s+Failed\s+HealthCheckFailed/)
  assert.match(history.stdout, /r1\s+Active/)
})
