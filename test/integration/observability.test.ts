import assert from 'node:assert/strict'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import {
  alertRules,
  anchorsOf,
  dashboardExprs,
  dashboardPanels,
  readText,
  readYaml,
  ROOT,
} from '../helpers/observability-files.js'
import { metricNamesIn, promtool as promtoolIn, runTool } from '../helpers/prometheus.js'

// deploy/ (Prometheus, Grafana), docker-compose.yml's observability profile and docs/OPERATIONS.md,
// checked with the tools that will read them (metrics-endpoint.test.ts checks a live /metrics).

const COMPOSE_HINT = 'docker-compose is not installed: `apt-get install -y docker-compose` (Debian)'

const promtool = (args: string[]) => promtoolIn(ROOT, args)
const tempDirs: string[] = []

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-observability-'))
  tempDirs.push(dir)
  return dir
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
    await writeFile(path.join(dir, 'token'), 'observability-test-token-0123456789')
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
