import { hostnamesOf, isLocalHostname, type ReservedHostnames } from '../../model/hostnames.js'
import type { RoutedEnvironment } from '../../store/routes.js'

export interface RoutingOptions {
  baseDomain: string
  httpPort: number
  httpsPort: number
  /** `auto`: Caddy obtains certificates for every hostname that is not local (isLocalHostname). */
  tls: 'off' | 'auto'
  acmeEmail?: string
  /** The ACME directory (GILGAL_ACME_CA), such as Let's Encrypt's staging one; default: Caddy's. */
  acmeCa?: string
  /** Gilgal's own API, served at `host` (GILGAL_API_HOST) from `upstream` (`host:port`). */
  api?: { host: string; upstream: string }
}

type Json = Record<string, unknown>

// Retried on another upstream when the connection fails: requests that are safe to send twice.
const IDEMPOTENT = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']

/**
 * Caddy's `apps` for the whole installation, a pure function of the routed environments: the same
 * rows always render the same JSON, so the reconciler can tell whether Caddy already runs it.
 * Hostnames that get certificates are served on the HTTPS port and redirected there from the HTTP
 * port; local ones are served on the HTTP port only. Anything else answers 404 from Caddy itself.
 */
export function renderApps(environments: readonly RoutedEnvironment[], options: RoutingOptions): Json {
  const routes = [
    ...(options.api ? [proxyRoute([options.api.host], [options.api.upstream])] : []),
    ...environments.map((env) => environmentRoute(env, options)),
  ]
  const secured = new Set(
    options.tls === 'auto' ? routes.flatMap(hostsOf).filter((host) => !isLocalHostname(host)) : [],
  )
  const servers: Json = {
    gilgal_http: {
      listen: [`:${options.httpPort}`],
      routes: [
        ...(secured.size > 0 ? [redirectRoute([...secured], options.httpsPort)] : []),
        ...narrowed(routes, (host) => !secured.has(host)),
        notFound(),
      ],
      automatic_https: { disable: true },
    },
  }
  if (secured.size > 0) {
    servers.gilgal_https = {
      listen: [`:${options.httpsPort}`],
      routes: [...narrowed(routes, (host) => secured.has(host)), notFound()],
      // The HTTP server redirects itself: Caddy adds no second set of redirects.
      automatic_https: { disable_redirects: true },
    }
  }
  return {
    http: { http_port: options.httpPort, https_port: options.httpsPort, servers },
    ...(secured.size > 0 ? issuance(options) : {}),
  }
}

/**
 * Who issues certificates: Caddy's defaults (Let's Encrypt, then ZeroSSL) unless an email or a CA is
 * configured; with an email, both default issuers carry it, and a chosen CA is the only one.
 */
function issuance(options: RoutingOptions): Json {
  const { acmeEmail: email, acmeCa: ca } = options
  if (!email && !ca) return {}
  const issuers: Json[] = [{ module: 'acme', ...(email ? { email } : {}), ...(ca ? { ca } : {}) }]
  if (email && !ca) issuers.push({ module: 'zerossl', email })
  return { tls: { automation: { policies: [{ issuers }] } } }
}

function environmentRoute(env: RoutedEnvironment, options: RoutingOptions): Json {
  const hosts = hostnamesOf(env.project, env.environment, env.domains, reservedOf(options))
  if (env.upstreams.length > 0) return proxyRoute(hosts, env.upstreams)
  return {
    match: [{ host: hosts }],
    handle: [
      {
        handler: 'static_response',
        status_code: 503,
        headers: { 'Retry-After': ['5'], 'Content-Type': ['text/plain; charset=utf-8'] },
        body: 'No healthy container serves this app right now.\n',
      },
    ],
    terminal: true,
  }
}

/**
 * Round robin over the upstreams; three failed connections within 5 s take an upstream out for a while
 * (passive health: one blip does not take out a single replica), and an idempotent request is tried
 * on another one for up to two seconds.
 */
function proxyRoute(hosts: string[], upstreams: readonly string[]): Json {
  return {
    match: [{ host: hosts }],
    handle: [
      {
        handler: 'reverse_proxy',
        upstreams: [...upstreams].sort().map((dial) => ({ dial })),
        load_balancing: {
          selection_policy: { policy: 'round_robin' },
          try_duration: '2s',
          try_interval: '50ms',
          retry_match: [{ method: IDEMPOTENT }],
        },
        health_checks: { passive: { fail_duration: '5s', max_fails: 3 } },
      },
    ],
    terminal: true,
  }
}

function redirectRoute(hosts: string[], httpsPort: number): Json {
  const port = httpsPort === 443 ? '' : `:${httpsPort}`
  return {
    match: [{ host: hosts }],
    handle: [
      {
        handler: 'static_response',
        status_code: 308,
        headers: { Location: [`https://{http.request.host}${port}{http.request.uri}`] },
      },
    ],
    terminal: true,
  }
}

function notFound(): Json {
  return {
    handle: [
      {
        handler: 'static_response',
        status_code: 404,
        headers: { 'Content-Type': ['text/plain; charset=utf-8'] },
        body: 'No app is served at this hostname.\n',
      },
    ],
  }
}

function hostsOf(route: Json): string[] {
  const match = route.match as Array<{ host: string[] }> | undefined
  return match?.[0]?.host ?? []
}

/** The routes for the hostnames `keep` accepts, each matching only those. */
function narrowed(routes: Json[], keep: (host: string) => boolean): Json[] {
  return routes.flatMap((route) => {
    const hosts = hostsOf(route).filter(keep)
    return hosts.length > 0 ? [{ ...route, match: [{ host: hosts }] }] : []
  })
}

/** The names no environment's domain may take: under the base domain, and the API's own. */
export function reservedOf(options: RoutingOptions): ReservedHostnames {
  return { baseDomain: options.baseDomain, apiHost: options.api?.host }
}
