/**
 * The hostnames an installation keeps for itself, so that no tenant's `spec.domains` can take traffic
 * meant for someone else (docs/MANIFESTS.md, Environment): every name under the base domain is given
 * by a project's name, and the API's own hostname carries every user's tokens.
 */
export interface ReservedHostnames {
  /** GILGAL_BASE_DOMAIN */
  baseDomain: string
  /** GILGAL_API_HOST, when Gilgal serves its API through its own proxy. */
  apiHost: string | undefined
}

/** Picks them out of a process's configuration (config/index.ts, whose fields share these names). */
export function reservedHostnamesOf(config: ReservedHostnames): ReservedHostnames {
  return { baseDomain: config.baseDomain, apiHost: config.apiHost }
}

/**
 * Why `domain` (lowercase already: the schema's pattern says so) cannot be claimed, said of its path,
 * or undefined when it may be.
 */
export function domainRefusal(domain: string, reserved: ReservedHostnames): string | undefined {
  const { baseDomain, apiHost } = reserved
  if (domain.startsWith('*.'))
    return 'wildcard domains are not supported (their certificates need a DNS challenge)'
  // The base domain itself too: its apex is the operator's, as every name under it is a project's.
  if (domain === baseDomain || domain.endsWith(`.${baseDomain}`))
    return `is under the base domain ${baseDomain}: Gilgal gives those names to projects`
  if (domain === apiHost) return "is the API's own hostname (GILGAL_API_HOST)"
  return undefined
}

/**
 * The hostnames an environment answers at (docs/ROUTING.md): `<environment>--<project>.<base>`, and
 * for production also `<project>.<base>`, then its own domains. Project names are unique across the
 * installation and never hold `--`, so no two environments are given the same default name.
 */
export function hostnamesOf(
  project: string,
  environment: string,
  domains: readonly string[],
  reserved: ReservedHostnames,
): string[] {
  const { baseDomain } = reserved
  const defaults = [`${environment}--${project}.${baseDomain}`]
  if (environment === 'production') defaults.push(`${project}.${baseDomain}`)
  // A claim the API would refuse today (one an older Gilgal let in) is never routed: it could take
  // a project's name under the base domain, or the API's.
  return [...defaults, ...domains.filter((domain) => domainRefusal(domain, reserved) === undefined)]
}

/**
 * Names no public certificate authority issues certificates for: they are served over plain HTTP
 * (a `localhost` base domain on a laptop, `.test` in tests).
 */
export function isLocalHostname(hostname: string): boolean {
  if (/^[0-9.]+$/.test(hostname) || hostname.includes(':')) return true
  const local = ['localhost', 'local', 'internal', 'test', 'example', 'invalid', 'home.arpa']
  return local.some((suffix) => hostname === suffix || hostname.endsWith(`.${suffix}`))
}

/** Where a user reaches a hostname through Caddy: https for names that get certificates. */
export function urlOf(hostname: string, ports: { http: number; https: number; tls: 'off' | 'auto' }): string {
  const secure = ports.tls === 'auto' && !isLocalHostname(hostname)
  const port = secure ? ports.https : ports.http
  const standard = secure ? 443 : 80
  return `${secure ? 'https' : 'http'}://${hostname}${port === standard ? '' : `:${port}`}`
}
