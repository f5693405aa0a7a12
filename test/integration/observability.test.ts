import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { ControllerManager } from '../../src/controller/manager.js'
import { registerPhaseGauges } from '../../src/metrics/phases.js'
import { createMetrics } from '../../src/metrics/registry.js'
import { createStatusReconciler } from '../doubles/status-reconciler.js'
import { buildTestApp, client, registerUser } from '../helpers/app.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'
import {
  familiesOf,
  isExported,
  metricNamesIn,
  metricsProblems,
  promtool as promtoolIn,
  runTool,
} from '../helpers/prometheus.js'
import { waitFor } from '../helpers/wait.js'

// deploy/ (Prometheus, Grafana), docker-compose.yml's observability profile and docs/OPERATIONS.md
// checked against the metrics a running Gilgal really exports, with the tools that will read them.

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TOKEN = 'observability-test-token-0123456789'
const COMPOSE_HINT = 'docker-compose is not installed: `apt-get install -y docker-compose` (Debian)'

const readText = (file: string) => readFile(path.join(ROOT, file), 'utf8')
const readYaml = async (file: string) => parseYaml(await readText(file))
const promtool = (args: string[]) => promtoolIn(ROOT, args)
const tempDirs: string[] = []

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-observability-'))
  tempDirs.push(dir)
  return dir
}

interface Panel {
  id: number
  type: string
  datasource?: { uid?: string }
  targets?: Array<{ refId: string; expr: string }>
}

async function dashboardPanels(): Promise<Panel[]> {
  const dashboard = JSON.parse(await readText('deploy/grafana/dashboards/gilgal.json'))
  return dashboard.panels.filter((panel: Panel) => panel.type !== 'row')
}

async function dashboardExprs(): Promise<string[]> {
  return (await dashboardPanels()).flatMap((panel) => (panel.targets ?? []).map((t) => t.expr))
}

interface AlertRule {
  alert: string
  expr: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

async function alertRules(): Promise<AlertRule[]> {
  const { groups } = await readYaml('deploy/prometheus/alerts.yml')
  return groups.flatMap((group: { rules: AlertRule[] }) => group.rules)
}

/** GitHub's anchors of a Markdown file's headings. */
function anchorsOf(markdown: string): Set<string> {
  const headings = [...markdown.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!)
  return new Set(
    headings.map((h) =>
      h
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, '')
        .replace(/ /g, '-'),
    ),
  )
}

after(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true })
})

describe('alert rules (deploy/prometheus/alerts.yml)', () => {
  test('promtool accepts them, and their unit tests pass', async () => {
    const rules = await alertRules()
    const checked = await promtool(['check', 'rules', 'deploy/prometheus/alerts.yml'])
    assert.equal(checked.code, 0, checked.output)
    assert.match(checked.output, new RegExp(`SUCCESS: ${rules.length} rules found`))
    const tested = await promtool(['test', 'rules', 'deploy/prometheus/alerts.test.yml'])
    assert.equal(tested.code, 0, tested.output)
  })

  test('every alert has a unit test in which it fires', async () => {
    const { tests } = await readYaml('deploy/prometheus/alerts.test.yml')
    type Case = { alertname: string; exp_alerts: unknown[] }
    const firing = new Set<string>(
      tests.flatMap((t: { alert_rule_test: Case[] }) =>
        t.alert_rule_test.filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname),
      ),
    )
    for (const rule of await alertRules())
      assert.ok(firing.has(rule.alert), `${rule.alert} is never seen firing`)
  })

  test('each alert says what happened and points at its section of docs/OPERATIONS.md', async () => {
    const anchors = anchorsOf(await readText('docs/OPERATIONS.md'))
    for (const rule of await alertRules()) {
      assert.ok(['critical', 'warning'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity`)
      assert.ok(rule.annotations?.summary && rule.annotations.description, `${rule.alert}: summary`)
      const runbook = /^docs\/OPERATIONS\.md#(.+)$/.exec(rule.annotations.runbook_url ?? '')
      assert.ok(runbook && anchors.has(runbook[1]!), `${rule.alert}: runbook_url has no section`)
    }
  })
})

describe('scrape config (deploy/prometheus/prometheus.yml)', () => {
  test('scrapes gilgal:3000/metrics with the token from a file the compose service writes', async () => {
    const config = await readYaml('deploy/prometheus/prometheus.yml')
    const job = config.scrape_configs.find((c: { job_name: string }) => c.job_name === 'gilgal')
    assert.equal(job.metrics_path, '/metrics')
    assert.deepEqual(job.static_configs[0].targets, ['gilgal:3000'])
    assert.equal(job.authorization.type, 'Bearer')
    const tokenFile: string = job.authorization.credentials_file
    const compose = await readText('docker-compose.yml')
    assert.ok(compose.includes(`"$$GILGAL_METRICS_TOKEN" > ${tokenFile}`), 'compose writes another file')
    assert.ok(compose.includes(`tmpfs: [${path.dirname(tokenFile)}]`), 'the token file is not on a tmpfs')
  })

  test('promtool accepts it, with its rule files', async () => {
    const dir = await tempDir()
    const config = await readYaml('deploy/prometheus/prometheus.yml')
    // The token file exists only in the container: point the copy at one of ours.
    await writeFile(path.join(dir, 'token'), TOKEN)
    for (const job of config.scrape_configs) job.authorization.credentials_file = path.join(dir, 'token')
    await writeFile(path.join(dir, 'prometheus.yml'), stringifyYaml(config))
    await writeFile(path.join(dir, 'alerts.yml'), await readText('deploy/prometheus/alerts.yml'))
    const checked = await promtool(['check', 'config', path.join(dir, 'prometheus.yml')])
    assert.equal(checked.code, 0, checked.output)
    assert.match(checked.output, /SUCCESS: 1 rule files found/)
  })
})

describe('dashboard (deploy/grafana/)', () => {
  test('every query is PromQL that promtool accepts', async () => {
    const grafanaVariables: Record<string, string> = {
      $__rate_interval: '1m',
      $__range: '1h',
      $job: 'gilgal',
      $instance: '.+',
    }
    const exprs = (await dashboardExprs()).map((expr) =>
      expr.replace(/\$\w+/g, (variable) => grafanaVariables[variable] ?? variable),
    )
    assert.ok(exprs.length > 20, `only ${exprs.length} queries`)
    for (const expr of exprs) assert.ok(!expr.includes('$'), `unknown Grafana variable in ${expr}`)
    const rules = exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr }))
    const file = path.join(await tempDir(), 'dashboard-rules.yml')
    await writeFile(file, stringifyYaml({ groups: [{ name: 'dashboard', rules }] }))
    const checked = await promtool(['check', 'rules', file])
    assert.equal(checked.code, 0, checked.output)
    assert.match(checked.output, new RegExp(`SUCCESS: ${rules.length} rules found`))
  })

  test('panels use the data source variable, and the provisioning files load it', async () => {
    const panels = await dashboardPanels()
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids repeat')
    for (const panel of panels) assert.equal(panel.datasource?.uid, '${datasource}', `panel ${panel.id}`)
    const provider = await readYaml('deploy/grafana/provisioning/dashboards/gilgal.yml')
    const compose = await readText('docker-compose.yml')
    const dashboardsPath: string = provider.providers[0].options.path
    assert.ok(compose.includes(`./deploy/grafana/dashboards:${dashboardsPath}:ro`), dashboardsPath)
    const { datasources } = await readYaml('deploy/grafana/provisioning/datasources/prometheus.yml')
    assert.equal(datasources[0].url, 'http://prometheus:9090')
  })

  test('it shows deploys, rollouts, rollbacks, the controller loop, leadership and the API', async () => {
    const used = new Set((await dashboardExprs()).flatMap(metricNamesIn))
    for (const name of [
      'gilgal_deployments',
      'gilgal_rollout_duration_seconds_bucket',
      'gilgal_rollbacks_total',
      'gilgal_reconcile_duration_seconds_bucket',
      'gilgal_reconcile_total',
      'gilgal_workqueue_depth',
      'gilgal_workqueue_wait_seconds_bucket',
      'gilgal_notify_lag_seconds_bucket',
      'gilgal_leader',
      'gilgal_http_request_duration_seconds_bucket',
    ])
      assert.ok(used.has(name), `no panel queries ${name}`)
  })
})

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
      lease: { ttlMs: 3000, renewMs: 500 },
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

type Port = string | { host_ip: string; published: string; target: number }
type Volume = string | { source: string }
/** docker-compose v1 renders short syntax, Compose v2 long syntax. */
const portOf = (p: Port) =>
  typeof p === 'string' ? p.replace(/\/tcp$/, '') : `${p.host_ip}:${p.published}:${p.target}`
const sourceOf = (v: Volume) => (typeof v === 'string' ? v.split(':')[0]! : v.source)

describe('docker-compose.yml, profile observability', () => {
  test('starts Prometheus and Grafana from the files in deploy/, Grafana on loopback only', async () => {
    const env = {
      ...process.env,
      GILGAL_JWT_SECRET: 'x',
      GILGAL_SECRET_KEYS: 'x',
      GRAFANA_ADMIN_PASSWORD: 'from-the-environment',
      GRAFANA_PORT: '',
    }
    const args = ['-f', 'docker-compose.yml', '--profile', 'observability', 'config']
    const rendered = await runTool('docker-compose', args, { cwd: ROOT, hint: COMPOSE_HINT, env })
    assert.equal(rendered.code, 0, rendered.output)
    const { services } = parseYaml(rendered.output)
    assert.match(services.prometheus.image, /^prom\/prometheus:v3$/)
    assert.match(services.grafana.image, /^grafana\/grafana:12(\.\d+)*$/)
    for (const name of ['prometheus', 'grafana']) assert.deepEqual(services[name].profiles, ['observability'])
    assert.equal(services.grafana.environment.GF_SECURITY_ADMIN_PASSWORD, 'from-the-environment')
    assert.deepEqual(services.grafana.ports.map(portOf), ['127.0.0.1:3001:3000'])
    for (const name of ['prometheus', 'grafana']) {
      for (const source of services[name].volumes.map(sourceOf).filter(path.isAbsolute)) {
        assert.ok(source.startsWith(path.join(ROOT, 'deploy/')), `${name} mounts ${source}`)
        await stat(source) // exists
      }
    }
  })
})
