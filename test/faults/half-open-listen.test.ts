/**
 * Fault: the controller's LISTEN session goes half-open: its backend is frozen with SIGSTOP, so no
 * notification arrives and no FIN tells the client. The paranoid check (a `select 1` that times out)
 * must notice, reconnect, and resync: a write made meanwhile converges without the lost notification.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { ControllerManager } from '../../src/controller/manager.js'
import { createMetrics } from '../../src/metrics/registry.js'
import { createPool, type Pool } from '../../src/store/pool.js'
import { createStatusReconciler } from '../doubles/status-reconciler.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'
import { waitFor } from '../helpers/wait.js'

const NAME = 'half-open'
let db: TestDatabase
let pool: Pool
let manager: ControllerManager | undefined
let frozenPid: number | undefined

before(async () => {
  db = await createTestDatabase()
  const url = new URL(db.url)
  url.searchParams.set('application_name', NAME) // to find the LISTEN session among the others
  pool = createPool(url.toString(), testLog, 4)
  manager = new ControllerManager({
    pool,
    databaseUrl: url.toString(),
    log: testLog,
    metrics: createMetrics(),
    resyncSeconds: 3600, // only the reconnect's resync may repair the lost notification
    buildReconcilers: () => ({
      Project: createStatusReconciler(pool, 'Project'),
      Environment: createStatusReconciler(pool, 'Environment'),
      Deployment: createStatusReconciler(pool, 'Deployment'),
    }),
    onFatal: (error) => assert.fail(`listener gave up: ${error.message}`),
    lease: { ttlMs: 3000, renewMs: 500, holder: NAME },
  })
  await manager.start()
})

after(async () => {
  if (frozenPid !== undefined) process.kill(frozenPid, 'SIGCONT')
  await manager?.stop(2000)
  await pool.end()
  await db.drop()
})

test('a LISTEN session frozen without a FIN is noticed, reconnected, and what it missed converges', async () => {
  await waitFor('leadership', async () => (manager!.elector.isLeader ? true : undefined))
  const { rows: sessions } = await db.pool.query<{ pid: number }>(
    `select pid from pg_stat_activity where application_name = $1 and query ilike 'listen%'`,
    [NAME],
  )
  assert.equal(sessions.length, 1, 'the LISTEN session was found')
  frozenPid = sessions[0]!.pid
  process.kill(frozenPid, 'SIGSTOP') // the server's own process: as root, or as the user running it
  const frozenAt = performance.now()

  const { rows: users } = await db.pool.query(
    `insert into users (email, username, password_hash) values ('half@example.com', 'half', 'x') returning id`,
  )
  const { rows: created } = await db.pool.query(
    `insert into projects (owner_id, name) values ($1, 'missed') returning id`,
    [users[0].id],
  )
  await waitFor(
    'the write made while the session was frozen to converge',
    async () => {
      const { rows } = await db.pool.query(
        `select 1 from projects where id = $1 and (status->>'observedGeneration')::bigint = generation`,
        [created[0].id],
      )
      return rows[0]
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  )
  console.log(`half-open LISTEN: converged ${(performance.now() - frozenAt).toFixed(0)} ms after the freeze`)
})
