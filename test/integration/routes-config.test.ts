import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { ROUTES_KEY } from '../../src/controller/keys.js'
import type { RoutingOptions } from '../../src/reconcilers/routes/render.js'
import { createRoutesReconciler } from '../../src/reconcilers/routes/reconcile.js'
import { RouteSync } from '../../src/reconcilers/routes/sync.js'
import { checkCertificate } from '../../src/runtime/certificates.js'
import { FencedError } from '../../src/runtime/fence.js'
import { alwaysCurrent, alwaysStale } from '../doubles/fence.js'
import { reconcileContext } from '../doubles/reconcile-context.js'
import { buildTestApp } from '../helpers/app.js'
import { startCaddy, type TestCaddy } from '../helpers/caddy.js'
import { testEnv } from '../helpers/db.js'
import { createRevisionRows, type RevisionRows } from '../helpers/revisions.js'
import { get } from '../helpers/traffic.js'

// What Caddy is given beyond the apps' routes, on a real Caddy and a real database (no containers: an
// environment without healthy ones answers 503 from Caddy).
const { runId } = testEnv()
let world: RevisionRows
let caddy: TestCaddy
let routes: RouteSync
let routingOptions: RoutingOptions
let defaultHost: string

before(async () => {
  caddy = await startCaddy()
  world = await createRevisionRows('routes-config')
  routingOptions = caddy.routing
  routes = new RouteSync({
    pool: world.db.pool,
    caddy: caddy.admin,
    fence: alwaysCurrent,
    options: routingOptions,
  })
  defaultHost = `production--${world.projectName}.localhost`
  await routes.sync()
})

after(async () => {
  await caddy?.stop()
  await world?.db.drop()
})

const answer = (hostname: string) => get(caddy.httpPort, hostname)
const answerAt = (hostname: string, path: string) => get(caddy.httpPort, hostname, { path })

test('an environment with no healthy container answers 503 from Caddy', async () => {
  const nothing = await answer(defaultHost)
  assert.equal(nothing.status, 503)
  assert.match(nothing.body, /No healthy container/)
})
test("Gilgal's own API answers at GILGAL_API_HOST through Caddy", async () => {
  const api = await buildTestApp(world.db.pool)
  try {
    await api.listen({ host: '127.0.0.1', port: 0 })
    const { port } = api.server.address() as AddressInfo
    const withApi = new RouteSync({
      pool: world.db.pool,
      caddy: caddy.admin,
      fence: alwaysCurrent,
      options: { ...routingOptions, api: { host: `gilgal-${runId}.test`, upstream: `127.0.0.1:${port}` } },
    })
    await withApi.sync()
    const health = await answerAt(`gilgal-${runId}.test`, '/health')
    assert.equal(health.status, 200)
    assert.equal(JSON.parse(health.body).status, 'ok')
  } finally {
    await api.close()
    await routes.sync()
  }
})

test('a leader whose term is over changes nothing in Caddy', async () => {
  const deposed = new RouteSync({
    pool: world.db.pool,
    caddy: caddy.admin,
    fence: alwaysStale,
    options: {
      baseDomain: 'other.localhost',
      httpPort: caddy.httpPort,
      httpsPort: caddy.httpsPort,
      tls: 'off',
    },
  })
  const before = await caddy.admin.readConfig()
  await assert.rejects(deposed.sync(), FencedError)
  assert.deepEqual(await caddy.admin.readConfig(), before)
})

test('with automatic HTTPS, a domain without a certificate shows in the database and one event says why', async () => {
  const domain = `cert-${runId}.example.com`
  await world.db.pool.query(`insert into environment_domains (hostname, environment_id) values ($1, $2)`, [
    domain,
    world.environmentId,
  ])
  const secure = new RouteSync({
    pool: world.db.pool,
    caddy: caddy.admin,
    fence: alwaysCurrent,
    // A directory nobody answers at: Caddy fails to order (as without DNS), and CI asks no real CA.
    options: { ...routingOptions, tls: 'auto', acmeCa: 'http://127.0.0.1:9/directory' },
  })
  const check = (hostname: string) => checkCertificate('127.0.0.1', caddy.httpsPort, hostname)
  const reconciler = createRoutesReconciler(secure, { pool: world.db.pool, check })
  try {
    for (let pass = 0; pass < 2; pass++)
      await reconciler.reconcile(ROUTES_KEY, new AbortController().signal, reconcileContext())
    const { rows } = await world.db.pool.query(
      'select certificate, certificate_message from environment_domains where hostname = $1',
      [domain],
    )
    assert.equal(rows[0].certificate, 'NotReady')
    assert.match(rows[0].certificate_message, /no trusted certificate yet \(.*alert/)
    const events = await world.db.pool.query(
      `select type, reason, message from events where reason like 'Certificate%'`,
    )
    assert.equal(events.rowCount, 1, 'one event for the change, none for the same state again')
    assert.equal(events.rows[0].type, 'Warning')
    assert.match(events.rows[0].message, new RegExp(`^${domain}: no trusted certificate yet`))
    // Once Caddy holds a trusted certificate (here, as the handshake would report it): Ready, one event.
    const issued = createRoutesReconciler(secure, {
      pool: world.db.pool,
      check: async () => ({ trusted: true, validTo: 'Mar  1 00:00:00 2027 GMT' }),
    })
    await issued.reconcile(ROUTES_KEY, new AbortController().signal, reconcileContext())
    const reasons = await world.db.pool.query(
      `select reason from events where reason like 'Certificate%' order by id`,
    )
    assert.deepEqual(
      reasons.rows.map((row) => row.reason),
      ['CertificateNotReady', 'CertificateReady'],
    )
    const redirect = await answer(domain)
    assert.equal(redirect.status, 308, 'plain HTTP is redirected to HTTPS')
    assert.equal((await answer(defaultHost)).status, 503, 'local names stay on plain HTTP: no redirect')
  } finally {
    await world.db.pool.query('delete from environment_domains where hostname = $1', [domain])
    await routes.sync()
  }
})
