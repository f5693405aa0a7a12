import { GilgalError } from '../errors.js'
import { QUOTA_VARIABLES, type Quotas } from '../model/limits.js'
import type { Usage } from '../store/spec-tables.js'

/** A write would take a user past a quota the operator set. */
export class QuotaExceededError extends GilgalError {
  constructor(message: string) {
    super('GILGAL_QUOTA_EXCEEDED', 403, 'Quota exceeded', message)
  }
}

/**
 * Refuses a write that leaves the user above a quota it raised them to. A user already above one
 * (the operator lowered it) may still delete, and change what does not grow.
 */
export function assertWithinQuotas(before: Usage, after: Usage, quotas: Quotas): void {
  for (const name of Object.keys(quotas) as Array<keyof Quotas>) {
    if (after[name] > quotas[name] && after[name] > before[name]) {
      throw new QuotaExceededError(
        `this would make ${after[name]} ${name === 'builds' ? 'revisions queued or building' : name}; ` +
          `your quota is ${quotas[name]} (${QUOTA_VARIABLES[name]})`,
      )
    }
  }
}
