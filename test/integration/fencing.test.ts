import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'
import { ControllerManager } from '../../src/controller/manager.js'
import { createMetrics } from '../../src/metrics/registry.js'
import type { Reconciler } from '../../src/controller/reconciler.js'
import { FakeRuntime } from '../doubles/fake-runtime.js'
import { fencedRuntime } from '../../src/runtime/fence.js'
import { createPool } from '../../src/store/pool.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'
import { exitWithin, runScript } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

let db: TestDatabase

before(async () => {
  db = await createTestDatabase()
})

after(async () => {
  await db.drop()
})

const lines = (output: string) => output.split('\n').filter(Boolean)

test('a leader paused past its lease and resumed makes no mutation after resuming', async () => {
  const script = fileURLToPath(new URL('../fixtures/paused-leader.ts', import.meta.url))
  const paused = runScript(script, [db.url])
  const standbyPool = createPool(db.url, testLog, 2)
  const standbyRuntime = new FakeRuntime()
  let standby: ControllerManager | undefined
  try {
    const firstEpoch = await waitFor(
      'the child to lead',
      async () =>
        lines(paused.output())
          .find((line) => line.startsWith('LEADER'))
          ?.split(' ')[1],
      { timeoutMs: 20_000 },
    )
    const { rows } = await db.pool.query(
      `insert into users (email, username, password_hash) values ('f@example.com', 'f', 'x') returning id`,
    )
    await db.pool.query(`insert into projects (owner_id, name) values ($1, 'fenced')`, [rows[0].id])
    await waitFor('its first mutation', async () =>
      lines(paused.output()).some((line) => line.startsWith(`CALL ${firstEpoch} createContainer`))
        ? true
        : undefined,
    )
    paused.child.kill('SIGSTOP')

    const simple: Reconciler = { reconcile: async () => ({}) }
    standby = new ControllerManager({
      pool: standbyPool,
      databaseUrl: db.url,
      log: testLog,
      metrics: createMetrics(),
      resyncSeconds: 3600,
      lease: { ttlMs: 2000, renewMs: 400, holder: 'standby' },
      onFatal: (error) => assert.fail(error.message),
      buildReconcilers: (fence) => {
        const runtime = fencedRuntime(standbyRuntime.forEpoch(fence.epoch), fence)
        const creator: Reconciler = {
          reconcile: async (key) => (
            await runtime.createContainer({ name: key.id, image: 'app', labels: {} }),
            {}
          ),
        }
        return { Project: creator, Environment: simple, Deployment: simple }
      },
    })
    await standby.start()
    await waitFor('the standby to take over', async () => (standby!.elector.isLeader ? true : undefined), {
      timeoutMs: 10_000,
    })
    await waitFor('the standby to act', async () => (standbyRuntime.calls.length > 0 ? true : undefined))
    assert.ok(standbyRuntime.calls.every((call) => call.epoch > Number(firstEpoch)))

    const resumedAt = Date.now()
    paused.child.kill('SIGCONT')
    await waitFor('the resumed leader to be fenced', async () =>
      lines(paused.output()).some((line) => line.startsWith(`FENCED ${firstEpoch}`)) ? true : undefined,
    )
    const lateCalls = lines(paused.output())
      .filter((line) => line.startsWith('CALL'))
      .filter((line) => Number(line.split(' ')[3]) >= resumedAt)
    assert.deepEqual(lateCalls, [], 'no mutation after resuming')
  } finally {
    paused.child.kill('SIGCONT')
    paused.child.kill('SIGTERM')
    await exitWithin(paused, 10_000)
    await standby?.stop(2000)
    await standbyPool.end()
  }
})
