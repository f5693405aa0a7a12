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
