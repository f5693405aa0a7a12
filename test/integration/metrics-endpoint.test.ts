// A live /metrics, checked with promtool and against what the dashboard, the alerts and
// docs/OPERATIONS.md expect of it, and the token that guards it.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { ControllerManager } from '../../src/controller/manager.js'
import { registerPhaseGauges } from '../../src/metrics/phases.js'
import { createMetrics } from '../../src/metrics/registry.js'
import { createStatusReconciler } from '../doubles/status-reconciler.js'
import { buildTestApp, client, registerUser } from '../helpers/app.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'
import { alertRules, dashboardExprs, readText, ROOT } from '../helpers/observability-files.js'
import { familiesOf, isExported, metricNamesIn, metricsProblems } from '../helpers/prometheus.js'
import { waitFor } from '../helpers/wait.js'

const TOKEN = 'observability-test-token-0123456789'

describe('/metrics of a running Gilgal (API and controller in one process)', () => {
  let db: TestDatabase
  let app: FastifyInstance
  let manager: ControllerManager
  let exposition: string

  before(async () => {
    db = await createTestDatabase()
    const metrics = createMetrics()
    registerPhaseGauges(metrics, db.pool)
    app = await buildTestApp(db.pool, { metrics })
    const reconcilers = {
      Project: createStatusReconciler(db.pool, 'Project'),
      Environment: createStatusReconciler(db.pool, 'Environment'),
      Deployment: createStatusReconciler(db.pool, 'Deployment'),
    }
    manager = new ControllerManager({
      pool: db.pool,
      databaseUrl: db.url,
      log: testLog,
      metrics,
      resyncSeconds: 3600,
      buildReconcilers: () => reconcilers,
      onFatal: (error) => assert.fail(`listener gave up: ${error.message}`),
      // Long enough that a loaded machine does not lose it between the reconcile and the scrape.
      lease: { ttlMs: 15_000, renewMs: 3000 },
    })
    await manager.start()
    // A write through the API that the controller reconciles fills the API, queue and reconcile series.
    const created = await client(app, await registerUser(app)).post('/api/projects', { name: 'observed' })
    assert.equal(created.statusCode, 201, created.body)
    await waitFor('the project to be reconciled', async () => {
      const { rows } = await db.pool.query(
        `select 1 from projects where id = $1 and (status->>'observedGeneration')::bigint = generation`,
        [created.json().metadata.id],
      )
      return rows[0]
    })
    const scraped = await app.inject({ method: 'GET', url: '/metrics' })
    assert.equal(scraped.statusCode, 200)
    exposition = scraped.body
  })

  after(async () => {
    await manager?.stop(2000)
    await app?.close()
    await db?.drop()
  })

  test('promtool check metrics finds nothing wrong in Gilgal’s own series', async () => {
    assert.match(exposition, /^gilgal_leader 1$/m)
    assert.match(exposition, /^gilgal_reconcile_total\{kind="Project",result="success"\} [1-9]/m)
    assert.deepEqual(await metricsProblems(ROOT, exposition), [])
  })

  test('it exports every metric that the dashboard and the alerts query', async () => {
    const families = familiesOf(exposition)
    const exprs = [...(await dashboardExprs()), ...(await alertRules()).map((rule) => rule.expr)]
    const names = new Set(exprs.flatMap(metricNamesIn))
    assert.ok(names.size > 10, `found only ${[...names].join(', ')}`)
    const missing = [...names].filter((name) => !isExported(name, families))
    assert.deepEqual(missing, [], 'queried but not exported')
  })

  test('docs/OPERATIONS.md describes every Gilgal metric it exports', async () => {
    const operations = await readText('docs/OPERATIONS.md')
    const ours = [...familiesOf(exposition).keys()].filter((name) => name.startsWith('gilgal_'))
    assert.ok(ours.length >= 15, ours.join(', '))
    assert.deepEqual(
      ours.filter((name) => !operations.includes(`\`${name}\``)),
      [],
    )
  })
})

describe('the metrics token (GILGAL_METRICS_TOKEN)', () => {
  let db: TestDatabase

  before(async () => {
    db = await createTestDatabase()
  })

  after(async () => {
    await db.drop()
  })

  const scrape = (app: FastifyInstance, authorization?: string) =>
    app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} })

  test('set: a scrape without it, or with another, is refused with problem+json 401', async () => {
    const app = await buildTestApp(db.pool, { metricsToken: TOKEN })
    try {
      for (const authorization of [undefined, `Bearer ${TOKEN.replace('0', '1')}`, 'Bearer short', TOKEN]) {
        const refused = await scrape(app, authorization)
        assert.equal(refused.statusCode, 401, String(authorization))
        assert.match(String(refused.headers['content-type']), /^application\/problem\+json/)
        assert.equal(refused.json().code, 'GILGAL_UNAUTHORIZED')
      }
      const allowed = await scrape(app, `Bearer ${TOKEN}`)
      assert.equal(allowed.statusCode, 200)
      assert.match(allowed.body, /^# TYPE gilgal_leader gauge$/m)
    } finally {
      await app.close()
    }
  })

  test('unset (outside production): /metrics is open', async () => {
    const app = await buildTestApp(db.pool)
    try {
      const open = await scrape(app)
      assert.equal(open.statusCode, 200)
      assert.match(open.body, /^# TYPE gilgal_leader gauge$/m)
    } finally {
      await app.close()
    }
  })
})
