/**
 * Fault: PostgreSQL restarted (fast shutdown, then started again on the same cluster) while 100
 * applies are in flight against a real `gilgal server`. Every call must either commit (2xx) or answer
 * a retryable 503 with Retry-After, never a 500 or a hang; retried as a client would, each lands
 * exactly once (one environment, one revision), nothing is half-written, and the controller
 * reconnects on its own and converges: one Active revision per environment, containers as declared.
 */
import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { createLogger } from '../../src/log.js'
import { LABELS } from '../../src/runtime/labels.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/store/embedded.js'
import { LOCAL_BASE } from '../helpers/base-images.js'
import { containersOf } from '../helpers/converge.js'
import { removeInstanceObjects } from '../helpers/docker.js'
import { freePort } from '../helpers/net.js'
import { runGilgal, type GilgalProcess } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

const COUNT = 100
const RESTART_AFTER_ANSWERS = 15 // restart once this many applies have answered: most are still in flight
const instance = `t-${process.env.GILGAL_TEST_RUN_ID ?? 'x'}-pg-restart`
const log = createLogger('warn')
let dir: string
let database: EmbeddedDatabase
let server: GilgalProcess | undefined
let base: string
let pgPort: number
let passed = false

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-pg-restart-'))
  await chmod(dir, 0o755) // as root, PostgreSQL runs as another user that must reach its cluster
  pgPort = await freePort()
  database = await startPostgres()
  const apiPort = await freePort()
  base = `http://127.0.0.1:${apiPort}`
  server = runGilgal(['server'], {
    DATABASE_URL: database.url,
    PORT: String(apiPort),
    GILGAL_DATA_DIR: path.join(dir, 'data'),
    GILGAL_INSTANCE: instance,
    GILGAL_MAX_ENVIRONMENTS: String(COUNT),
    GILGAL_MAX_BUILDS: String(COUNT), // each new environment's first revision counts as queued
    GILGAL_MAX_WRITES_PER_MINUTE: '10000',
    GILGAL_BUILD_CONCURRENCY: '4', // 100 first revisions resolve their image four at a time, not one
    LOG_LEVEL: 'warn',
  })
  await waitFor('gilgal to answer', async () => (await isReady()) || undefined, { timeoutMs: 60_000 })
})

after(async () => {
  if (!passed) console.log(`gilgal said:\n${server?.output()}`)
  server?.child.kill('SIGTERM')
  await server?.exited
  await database?.stop()
  await removeInstanceObjects(instance)
  await rm(dir, { recursive: true, force: true })
})

function startPostgres(): Promise<EmbeddedDatabase> {
  return startEmbeddedPostgres({ dir: path.join(dir, 'postgres'), port: pgPort, log })
}

async function isReady(): Promise<true | undefined> {
  const response = await fetch(`${base}/readyz`).catch(() => undefined)
  return response?.status === 200 ? true : undefined
}

function manifest(i: number): string {
  return `apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: e${i}, project: restart }
spec:
  source: { image: ${LOCAL_BASE.static} }
  replicas: ${i % 10 === 0 ? 1 : 0}
  resources: { memory: 16Mi, cpus: 0.05 }
  healthCheck: { tcp: {} }
  rollout: { drainSeconds: 0, monitorSeconds: 0 }
`
}

interface Answer {
  status: number
  retryAfter: string | null
  body: string
}

async function call(method: string, url: string, token: string | undefined, body: string, type: string) {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
    signal: AbortSignal.timeout(30_000), // a hang fails the test
  })
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: await response.text(),
  }
}

/** Applies once; on a 503 waits its Retry-After and applies again, recording every answer. */
async function applyUntilCommitted(token: string, i: number, answers: Answer[]): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const answer = await call('POST', '/api/apply', token, manifest(i), 'application/yaml')
    answers.push(answer)
    if (answer.status !== 503) return
    await delay(Number(answer.retryAfter) * 1000) // what Retry-After asks of a client
  }
}

test('PostgreSQL restarted under 100 concurrent applies: each commits or answers 503, and all converge', async () => {
  const user = { email: 'restart@example.com', username: 'restart', password: 'correct horse battery' }
  const registered = await call(
    'POST',
    '/api/auth/register',
    undefined,
    JSON.stringify(user),
    'application/json',
  )
  assert.equal(registered.status, 201, registered.body)
  const token = JSON.parse(registered.body).accessToken as string
  const project = 'apiVersion: gilgal.dev/v1\nkind: Project\nmetadata: { name: restart }\nspec: {}\n'
  assert.equal((await call('POST', '/api/apply', token, project, 'application/yaml')).status, 200)

  const answers: Answer[] = []
  const applies = Array.from({ length: COUNT }, (_, i) => applyUntilCommitted(token, i, answers))
  await waitFor(
    'the first applies to answer',
    async () => (answers.length >= RESTART_AFTER_ANSWERS ? true : undefined),
    {
      timeoutMs: 30_000,
      intervalMs: 5,
    },
  )
  const restartedAt = performance.now()
  await database.stop() // pg_ctl's fast shutdown: sessions are terminated, open transactions roll back
  database = await startPostgres()
  const downMs = performance.now() - restartedAt
  await Promise.all(applies)

  const unexpected = answers.filter((a) => !(a.status === 200 || (a.status === 503 && a.retryAfter)))
  assert.deepEqual(unexpected, [], 'every answer is a commit or a retryable 503')
  const refused = answers.filter((a) => a.status === 503)
  assert.ok(refused.length > 0, 'the restart was felt: some applies were answered 503')
  assert.ok(
    refused.every((a) => JSON.parse(a.body).code === 'GILGAL_UNAVAILABLE'),
    refused[0]?.body,
  )

  const converged = await waitFor('every environment to converge', () => convergedCount(), {
    timeoutMs: 120_000,
    intervalMs: 250,
  })
  console.log(
    `postgres restart: down ${downMs.toFixed(0)} ms, ${answers.length} answers (${refused.length} were 503), ` +
      `${converged} environments converged ${((performance.now() - restartedAt) / 1000).toFixed(1)} s after the restart`,
  )
  await assertNothingHalfWritten()
  await assertContainersAsDeclared()
  passed = true
})

async function query<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    return (await client.query<T>(text)).rows
  } finally {
    await client.end()
  }
}

const ENVIRONMENTS = `select e.id, e.name, e.status, e.generation from environments e
  join projects p on p.id = e.project_id where p.name = 'restart'`

/** How many environments are Available at their generation with an Active revision, once all are. */
async function convergedCount(): Promise<number | undefined> {
  const rows = await query<{ status: Record<string, any> | null; generation: string }>(ENVIRONMENTS) // eslint-disable-line @typescript-eslint/no-explicit-any
  const done = rows.filter(
    ({ status, generation }) =>
      status?.phase === 'Available' &&
      String(status.observedGeneration) === String(generation) &&
      status.activeDeployment,
  )
  return rows.length === COUNT && done.length === COUNT ? done.length : undefined
}

/** Each apply landed once: every environment has exactly one revision, Active; nothing else exists. */
async function assertNothingHalfWritten(): Promise<void> {
  const rows = await query<{ name: string; revisions: string[] }>(
    `select e.name, array_agg(d.status->>'phase' order by d.revision) filter (where d.id is not null) as revisions
       from (${ENVIRONMENTS}) e left join deployments d on d.environment_id = e.id group by e.name`,
  )
  const expected = Array.from({ length: COUNT }, (_, i) => `e${i}`).sort()
  assert.deepEqual(rows.map((r) => r.name).sort(), expected, 'every environment, once')
  const wrong = rows.filter((r) => r.revisions?.length !== 1 || r.revisions[0] !== 'Active')
  assert.deepEqual(wrong, [], 'one revision each, Active')
}

/** Docker matches the status: one running container for each environment of one replica, no other. */
async function assertContainersAsDeclared(): Promise<void> {
  const active = await query<{ name: string; deployment: string }>(
    `select e.name, e.status->'activeDeployment'->>'id' as deployment from (${ENVIRONMENTS}) e`,
  )
  const containers = await containersOf(`${LABELS.instance}=${instance}`)
  const expected = active
    .filter((e) => Number(e.name.slice(1)) % 10 === 0)
    .map((e) => e.deployment)
    .sort()
  assert.deepEqual(
    containers.map((c) => c.deployment).sort(),
    expected,
    `one container per replica of the active revisions: ${JSON.stringify(containers)}`,
  )
  assert.ok(
    containers.every((c) => c.running),
    'every container runs',
  )
}
