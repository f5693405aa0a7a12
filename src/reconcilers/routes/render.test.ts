import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { RoutedEnvironment } from '../../store/routes.js'
import { renderApps, type RoutingOptions } from './render.js'

const shop: RoutedEnvironment = {
  id: 'e1',
  projectId: 'p1',
  project: 'shop',
  environment: 'production',
  domains: ['shop.example.com'],
  upstreams: ['172.18.0.3:3000', '172.18.0.2:3000'],
}
const staging: RoutedEnvironment = { ...shop, id: 'e2', environment: 'staging', domains: [], upstreams: [] }
const LOCAL: RoutingOptions = { baseDomain: 'localhost', httpPort: 80, httpsPort: 443, tls: 'off' }

type Route = { match?: Array<{ host: string[] }>; handle: Array<Record<string, unknown>> }
type Server = { listen: string[]; routes: Route[]; automatic_https?: Record<string, unknown> }

function serversOf(apps: Record<string, unknown>): Record<string, Server> {
  return (apps.http as { servers: Record<string, Server> }).servers
}

describe('renderApps', () => {
  test('each environment answers at its default hostnames and its domains, round robin over its upstreams', () => {
    const { gilgal_http: http } = serversOf(renderApps([shop], LOCAL))
    assert.deepEqual(http!.listen, [':80'])
    const [route, fallback] = http!.routes
    assert.deepEqual(route!.match, [
      { host: ['production--shop.localhost', 'shop.localhost', 'shop.example.com'] },
    ])
    const proxy = route!.handle[0]!
    assert.equal(proxy.handler, 'reverse_proxy')
    assert.deepEqual(proxy.upstreams, [{ dial: '172.18.0.2:3000' }, { dial: '172.18.0.3:3000' }])
    assert.deepEqual((proxy.load_balancing as { retry_match: unknown }).retry_match, [
      { method: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'] },
    ])
    assert.ok((proxy.health_checks as { passive?: unknown }).passive, 'a failing upstream is taken out')
    assert.equal(fallback!.match, undefined)
    assert.equal(fallback!.handle[0]!.status_code, 404)
  })

  test('an environment with nothing healthy answers 503, never a connection error', () => {
    const { gilgal_http: http } = serversOf(renderApps([staging], LOCAL))
    assert.deepEqual(http!.routes[0]!.match, [{ host: ['staging--shop.localhost'] }])
    assert.equal(http!.routes[0]!.handle[0]!.status_code, 503)
  })

  test('the same rows render the same configuration, whatever order the upstreams come in', () => {
    const reversed = { ...shop, upstreams: [...shop.upstreams].reverse() }
    assert.deepEqual(renderApps([shop, staging], LOCAL), renderApps([reversed, staging], LOCAL))
  })

  test('TLS off: one plain HTTP server, Caddy manages no certificate', () => {
    const apps = renderApps([shop], { ...LOCAL, baseDomain: 'apps.example.com' })
    assert.deepEqual(Object.keys(serversOf(apps)), ['gilgal_http'])
    assert.deepEqual(serversOf(apps).gilgal_http!.automatic_https, { disable: true })
    assert.equal(apps.tls, undefined)
  })

  test('TLS auto: public names on HTTPS (redirected from HTTP), local ones on plain HTTP, the ACME email', () => {
    const local = { ...staging, domains: ['shop.localhost'] }
    const apps = renderApps([shop, local], {
      baseDomain: 'apps.example.com',
      httpPort: 8080,
      httpsPort: 8443,
      tls: 'auto',
      acmeEmail: 'ops@example.com',
    })
    const { gilgal_http: http, gilgal_https: https } = serversOf(apps)
    const publicNames = ['production--shop.apps.example.com', 'shop.apps.example.com', 'shop.example.com']
    assert.deepEqual(https!.listen, [':8443'])
    assert.deepEqual(https!.routes[0]!.match, [{ host: publicNames }])
    const redirect = http!.routes[0]!
    assert.equal(redirect.handle[0]!.status_code, 308)
    assert.deepEqual(redirect.handle[0]!.headers, {
      Location: ['https://{http.request.host}:8443{http.request.uri}'],
    })
    assert.deepEqual(
      http!.routes.slice(1, -1).map((route) => route.match![0]!.host),
      [['shop.localhost']],
      'only the local name is served over plain HTTP',
    )
    assert.deepEqual(apps.tls, {
      automation: {
        policies: [
          {
            issuers: [
              { module: 'acme', email: 'ops@example.com' },
              { module: 'zerossl', email: 'ops@example.com' },
            ],
          },
        ],
      },
    })
    const chosen = renderApps([shop], { ...LOCAL, tls: 'auto', acmeCa: 'https://acme-staging.example/dir' })
    assert.deepEqual(
      (chosen.tls as { automation: { policies: Array<{ issuers: unknown }> } }).automation.policies[0]!
        .issuers,
      [{ module: 'acme', ca: 'https://acme-staging.example/dir' }],
      'a chosen CA is the only issuer',
    )
  })

  test('a claim the API would refuse now (an older Gilgal let it in) is never routed', () => {
    const squatter = {
      ...staging,
      domains: ['production--victim.localhost', '*.example.com', 'gilgal.example.com', 'ok.example.com'],
    }
    const apps = renderApps([squatter], {
      ...LOCAL,
      api: { host: 'gilgal.example.com', upstream: '127.0.0.1:3000' },
    })
    const hosts = serversOf(apps).gilgal_http!.routes.map((route) => route.match?.[0]?.host)
    assert.deepEqual(hosts, [
      ['gilgal.example.com'],
      ['staging--shop.localhost', 'ok.example.com'],
      undefined,
    ])
  })

  test("Gilgal's own API is served first at GILGAL_API_HOST", () => {
    const apps = renderApps([shop], {
      ...LOCAL,
      api: { host: 'gilgal.example.com', upstream: '127.0.0.1:3000' },
    })
    const first = serversOf(apps).gilgal_http!.routes[0]!
    assert.deepEqual(first.match, [{ host: ['gilgal.example.com'] }])
    assert.deepEqual(first.handle[0]!.upstreams, [{ dial: '127.0.0.1:3000' }])
  })
})
