import { ValidationError } from '../errors.js'
import { domainRefusal } from '../model/hostnames.js'
import type { WriteContext } from './write-context.js'

/**
 * Refuses (422) the domains no environment may claim, whoever asks: those under the base domain and
 * the API's own hostname (model/hostnames.ts). Every problem is reported at once, as validation does.
 */
export function assertDomainsAllowed(ctx: WriteContext, domains: readonly string[]): void {
  const errors = domains.flatMap((domain, index) => {
    const message = domainRefusal(domain, ctx.reservedHostnames)
    return message ? [{ path: `/spec/domains/${index}`, message }] : []
  })
  if (errors.length > 0)
    throw new ValidationError(`Environment spec is invalid: ${errors[0]!.path} ${errors[0]!.message}`, errors)
}

// One DNS label holds at most 63 characters (RFC 1035); project and environment names may hold 40 each.
const MAX_LABEL = 63

/**
 * Refuses (422) an environment whose default hostname, `<environment>--<project>.<base>`, would not be
 * a valid DNS name: no resolver, and no certificate authority, would take it.
 */
export function assertDefaultHostname(projectName: string, environmentName: string): void {
  const label = `${environmentName}--${projectName}`
  if (label.length <= MAX_LABEL) return
  const message = `with project ${projectName}, its hostname label ${label} would have ${label.length} characters; at most ${MAX_LABEL}: choose a shorter name`
  throw new ValidationError(`Environment is invalid: /metadata/name ${message}`, [
    { path: '/metadata/name', message },
  ])
}
