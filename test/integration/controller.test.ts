import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createServer, connect } from 'node:net'
import { ChangeListener } from '../../src/controller/listener.js'
import { LeaderElector } from '../../src/controller/lease.js'
import type { Reconciler } from '../../src/controller/reconciler.js'
import { freePort } from '../helpers/net.js'
import { ControllerManager, type ManagerOptions } from '../../src/controller/manager.js'
import type { ReconcilerSet } from '../../src/controller/reconciler.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics/registry.js'
import { createStatusReconciler } from '../doubles/status-reconciler.js'
import { createPool, type Pool } from '../../src/store/pool.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'
import { waitFor } from '../helpers/wait.js'

let db: TestDatabase
let ownerId: string
const managers: ControllerManager[] = []
const pools: Pool[] = []

before(async () => {
  db = await createTestDatabase()
  const { rows } = await db.pool.query(
    `insert into users (email, username, password_hash) values ('ctl@example.com', 'ctl', 'x') returning id`,
  )
  ownerId = rows[0].id
})

after(async () => {
  for (const manager of managers) await manager.stop(2000)
  for (const pool of pools) await pool.end()
  await db.drop()
})

function statusReconcilers(pool: Pool): ReconcilerSet {
  return {
    Project: createStatusReconciler(pool, 'Project'),
    Environment: createStatusReconciler(pool, 'Environment'),
    Deployment: createStatusReconciler(pool, 'Deployment'),
  }
}

/** A manager with its own pool (named, so a test can find and kill its sessions). */
async function startManager(name: string, options: Partial<ManagerOptions> = {}): Promise<ControllerManager> {
  const url = new URL(db.url)
  url.searchParams.set('application_name', name)
  const pool = createPool(url.toString(), testLog, 4)
  pools.push(pool)
  const metrics = options.metrics ?? createMetrics()
  const manager = new ControllerManager({
    pool,
    databaseUrl: url.toString(),
    log: testLog,
    metrics,
    resyncSeconds: 3600,
    buildReconcilers: () => statusReconcilers(pool),
    onFatal: (error) => assert.fail(`listener gave up: ${error.message}`),
    lease: { ttlMs: 3000, renewMs: 500, holder: name },
    ...options,
  })
  managers.push(manager)
  await manager.start()
  return manager
}

let counter = 0
async function writeProject(): Promise<string> {
  const { rows } = await db.pool.query(`insert into projects (owner_id, name) values ($1, $2) returning id`, [
    ownerId,
    `p-${++counter}`,
  ])
  return rows[0].id
}

async function observed(ids: string[]): Promise<number> {
  const { rows } = await db.pool.query(
    `select count(*)::int as n from projects where id = any($1) and (status->>'observedGeneration')::bigint = generation`,
    [ids],
  )
  return rows[0].n
}

async function stopAll(): Promise<void> {
  for (const manager of managers.splice(0)) await manager.stop(2000)
}

describe('controller manager', () => {
  test('a write wakes its reconciler, and a spec change is observed too', async () => {
    const manager = await startManager('wake')
    await waitFor('leadership', async () => (manager.elector.isLeader ? true : undefined))
    const id = await writeProject()
    await waitFor('observedGeneration 1', async () => ((await observed([id])) === 1 ? true : undefined), {
      timeoutMs: 5000,
    })
    await db.pool.query(`update projects set spec = '{"displayName":"x"}' where id = $1`, [id])
    await waitFor('observedGeneration 2', async () => ((await observed([id])) === 1 ? true : undefined))
    const { rows } = await db.pool.query(
      `select status->>'observedGeneration' as g from projects where id = $1`,
      [id],
    )
    assert.equal(rows[0].g, '2')
    await stopAll()
  })

  test('every resync queues the routes of the whole installation', async () => {
    let routesReconciled = 0
    const manager = await startManager('routes', {
      buildReconcilers: () => ({
        ...statusReconcilers(db.pool),
        Routes: { reconcile: async () => (routesReconciled++, {}) },
      }),
    })
    await waitFor('the routes after becoming leader', async () => (routesReconciled >= 1 ? true : undefined))
    const before = routesReconciled
    await manager.resync('test')
    await waitFor('the routes again', async () => (routesReconciled > before ? true : undefined))
    await stopAll()
  })

  test('50 writes made while the LISTEN session is killed all converge after the reconnect', async () => {
    const metrics = createMetrics()
    const manager = await startManager('reconnect', { metrics })
    await waitFor('leadership', async () => (manager.elector.isLeader ? true : undefined))
    const { rows } = await db.pool.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'reconnect' and query ilike 'listen%'`,
    )
    assert.equal(rows.length, 1, 'the LISTEN session was found and killed')
    const ids: string[] = []
    for (let i = 0; i < 50; i++) ids.push(await writeProject())
    await waitFor('all 50 observed', async () => ((await observed(ids)) === 50 ? true : undefined), {
      timeoutMs: 15_000,
    })
    const reconnects = (await metrics.listenReconnects.get()).values[0]?.value ?? 0
    assert.ok(reconnects >= 1, `the listener reconnected (${reconnects})`)
    await stopAll()
  })

  test('a bad notification payload is counted and ignored; the listener keeps working', async () => {
    const metrics = createMetrics()
    const manager = await startManager('bad-payload', { metrics })
    await waitFor('leadership', async () => (manager.elector.isLeader ? true : undefined))
    await db.pool.query(
      `select pg_notify('gilgal_changes', 'not json'), pg_notify('gilgal_changes', '{"kind":"Pod"}')`,
    )
    const id = await writeProject()
    await waitFor('the next write converges', async () => ((await observed([id])) === 1 ? true : undefined))
    assert.equal((await metrics.listenBadPayloads.get()).values[0]?.value, 2)
    await stopAll()
  })

  test('with no listener at all, the periodic resync converges', async () => {
    const manager = await startManager('resync-only', { listen: false, resyncSeconds: 1 })
    await waitFor('leadership', async () => (manager.elector.isLeader ? true : undefined))
    const ids = [await writeProject(), await writeProject()]
    await waitFor('resync converges', async () => ((await observed(ids)) === 2 ? true : undefined), {
      timeoutMs: 5000,
    })
    await stopAll()
  })
})

describe('leader election', () => {
  test('of two managers one leads; killing its sessions hands over within expiry + 2 s', async () => {
    const first = await startManager('mgr-a')
    const second = await startManager('mgr-b')
    const leaders = () => [first, second].filter((m) => m.elector.isLeader)
    const leader = await waitFor('a leader', async () => (leaders().length === 1 ? leaders()[0] : undefined))
    let doubleLeadership = false
    const watch = setInterval(() => (doubleLeadership ||= leaders().length > 1), 20)
    try {
      const { rows: before } = await db.pool.query(
        `select epoch from controller_leases where name = 'controller'`,
      )
      const killedAt = Date.now()
      await db.pool.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()`,
        [leader.elector.holder],
      )
      const next = await waitFor(
        'a new leadership term',
        async () => {
          const { rows } = await db.pool.query(
            `select epoch, holder from controller_leases where name = 'controller'`,
          )
          const current = leaders()[0]
          return Number(rows[0].epoch) > Number(before[0].epoch) && current?.elector.holder === rows[0].holder
            ? current
            : undefined
        },
        { timeoutMs: 3000 + 2000 },
      )
      assert.ok(Date.now() - killedAt <= 5000, 'handed over within lease expiry + 2 s')
      const id = await writeProject()
      await waitFor('the new leader reconciles', async () =>
        (await observed([id])) === 1 ? true : undefined,
      )
      assert.ok(next.elector.isLeader)
    } finally {
      clearInterval(watch)
    }
    assert.equal(doubleLeadership, false, 'never two leaders at once')
    await stopAll()
  })

  test('a stop that leaves reconciles running does not release the lease: it is left to expire', async () => {
    let entered = false
    const hanging: Reconciler = {
      reconcile: () => {
        entered = true
        return new Promise(() => undefined) // ignores its signal: the worst case
      },
    }
    const idle: Reconciler = { reconcile: async () => ({}) }
    const manager = await startManager('stuck', {
      buildReconcilers: () => ({ Project: hanging, Environment: idle, Deployment: idle }),
    })
    await waitFor('leadership', async () => (manager.elector.isLeader ? true : undefined))
    await writeProject()
    await waitFor('the reconcile to hang', async () => (entered ? true : undefined))
    await manager.stop(200)
    managers.splice(managers.indexOf(manager), 1)
    const { rows } = await db.pool.query(
      `select expires_at > now() as held from controller_leases where holder = 'stuck'`,
    )
    assert.deepEqual(rows, [{ held: true }])
    await db.pool.query(`update controller_leases set expires_at = now() where holder = 'stuck'`)
  })

  test('campaigning against an unreachable database fails quietly, and stop() ends it', async () => {
    let logged = ''
    const elector = new LeaderElector({
      pool: db.pool,
      databaseUrl: `postgres://nobody:x@127.0.0.1:${await freePort()}/none`,
      log: createLogger('warn', { write: (line: string) => void (logged += line) }),
      ttlMs: 3000,
      renewMs: 100,
    })
    let started = false
    elector.start({ onStartedLeading: () => (started = true), onStoppedLeading: () => undefined })
    await waitFor('three failed campaigns', async () =>
      (logged.match(/lease campaign failed/g)?.length ?? 0) >= 3 ? true : undefined,
    )
    await elector.stop()
    assert.equal(started, false)
  })

  test('a clean stop releases the lease, so the standby takes over at once', async () => {
    const first = await startManager('rel-a')
    await waitFor('first leads', async () => (first.elector.isLeader ? true : undefined))
    const second = await startManager('rel-b')
    const stoppedAt = Date.now()
    await first.stop(2000)
    await waitFor('standby leads', async () => (second.elector.isLeader ? true : undefined), {
      timeoutMs: 2000,
    })
    assert.ok(Date.now() - stoppedAt < 2000, 'well before the 3 s expiry')
    await stopAll()
  })
})

describe('listener', () => {
  test('when reconnecting gives up, the listener reports it as fatal (the process then exits)', async () => {
    // A proxy in front of PostgreSQL that can be cut: the listener connects through it, then loses it.
    const target = new URL(db.url)
    const sockets = new Set<import('node:net').Socket>()
    const proxy = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname)
      sockets.add(client).add(upstream)
      client.pipe(upstream).pipe(client)
      const close = () => (client.destroy(), upstream.destroy())
      client.on('error', close).on('close', close)
      upstream.on('error', close).on('close', close)
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const viaProxy = new URL(db.url)
    viaProxy.port = String((proxy.address() as { port: number }).port)
    let fatal: Error | undefined
    const listener = new ChangeListener({
      url: viaProxy.toString(),
      log: testLog,
      onChange: () => undefined,
      onConnected: () => undefined,
      onFatal: (error) => (fatal = error),
      paranoidCheckMs: 200,
      retryTimeoutMs: 1000,
    })
    await listener.start()
    proxy.close()
    for (const socket of sockets) socket.destroy()
    await waitFor('the listener to give up', async () => fatal, { timeoutMs: 10_000 })
    assert.match(fatal!.message, /reconnection|connect/i)
    await listener.stop().catch(() => undefined)
  })
})
