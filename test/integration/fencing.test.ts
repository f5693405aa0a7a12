import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'
import PQueue from 'p-queue'
import { parseConfig } from '../../src/config/index.js'
import type { ObjectKey } from '../../src/controller/keys.js'
import { LeaderElector } from '../../src/controller/lease.js'
import { ControllerManager } from '../../src/controller/manager.js'
import { createMetrics } from '../../src/metrics/registry.js'
import type { Reconciler } from '../../src/controller/reconciler.js'
import { createReconcilers } from '../../src/reconcilers/index.js'
import { FakeRuntime } from '../doubles/fake-runtime.js'
import { alwaysCurrent } from '../doubles/fence.js'
import { reconcileContext } from '../doubles/reconcile-context.js'
import { FencedError, fencedRuntime, type Fence } from '../../src/runtime/fence.js'
import { testSecrets } from '../helpers/app.js'
import { createBuildWorld } from '../helpers/builds.js'
import { fixtureRepository } from '../helpers/fixtures.js'
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
    await waitFor(
      'the child to lead',
      async () => (lines(paused.output()).some((line) => line.startsWith('LEADER')) ? true : undefined),
      { timeoutMs: 20_000 },
    )
    const { rows } = await db.pool.query(
      `insert into users (email, username, password_hash) values ('f@example.com', 'f', 'x') returning id`,
    )
    await db.pool.query(`insert into projects (owner_id, name) values ($1, 'fenced')`, [rows[0].id])
    // The epoch of the mutation, not of the first LEADER line: on a loaded machine the child's
    // 2 s lease may lapse and be won again (a new epoch) before the project is reconciled.
    const firstEpoch = await waitFor(
      'its first mutation',
      async () =>
        lines(paused.output())
          .find((line) => / createContainer /.test(line))
          ?.split(' ')[1],
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

test('a deposed leader makes no Docker mutation, images included, and records no build', async () => {
  const fake = new FakeRuntime()
  const world = await createBuildWorld('deposed', fencedRuntime(fake.forEpoch(0), alwaysCurrent))
  const elector = new LeaderElector({
    pool: world.db.pool,
    databaseUrl: world.db.url,
    log: testLog,
    ttlMs: 60_000,
    renewMs: 20_000, // no renewal during the test: the elector still believes it leads
  })
  try {
    const fence = await new Promise<Fence>((resolve) =>
      elector.start({ onStartedLeading: resolve, onStoppedLeading: () => undefined }),
    )
    // What a standby does once this leader's lease has expired: it takes the lease, with a new epoch.
    await world.db.pool.query(`update controller_leases set holder = 'standby', epoch = epoch + 1`)
    await assert.rejects(fence.assertCurrent(), FencedError)

    const repo = await fixtureRepository('dockerfile-app', world.root)
    const gitRevision = await world.revision({ git: { url: repo.url } })
    fake.registry.set('shop:9', { id: 'sha256:nine', exposedPort: 8080 })
    const pulledRevision = await world.revision({ image: 'shop:9' })
    const builtRevision = await world.revision({ image: 'shop:1' })
    await world.db.pool.query(`update deployments set status = $2 where id = $1`, [
      builtRevision,
      { phase: 'Queued', imageId: 'sha256:one' },
    ])
    const reconcilers = createReconcilers(
      {
        pool: world.db.pool,
        runtime: fake.forEpoch(fence.epoch),
        config: parseConfig({ GILGAL_DATA_DIR: world.root, GILGAL_ALLOW_LOCAL_SOURCES: 'true' }),
        secrets: testSecrets,
        builds: new PQueue({ concurrency: 1 }),
        log: testLog,
        metrics: createMetrics(),
      },
      fence,
    )
    const keys: ObjectKey[] = [
      { kind: 'Deployment', id: gitRevision },
      { kind: 'Deployment', id: pulledRevision },
      { kind: 'Environment', id: world.environmentId },
      { kind: 'Project', id: world.projectId },
    ]
    for (const key of keys) {
      await assert.rejects(
        reconcilers[key.kind]!.reconcile(key, new AbortController().signal, reconcileContext()),
        FencedError,
        `${key.kind} ${key.id}`,
      )
    }
    assert.deepEqual(fake.mutations(), [], 'no build, pull, push, removal, container or network')
    for (const id of [gitRevision, pulledRevision]) {
      assert.equal((await world.statusOf(id)).imageId, undefined, 'no result recorded')
    }
  } finally {
    await elector.stop({ release: false })
    await world.close()
  }
})
