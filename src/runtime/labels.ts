/** Labels on every Docker object Gilgal creates (DESIGN.md section 4): observation needs no memory. */
export const LABELS = {
  managed: 'dev.gilgal.managed',
  project: 'dev.gilgal.project',
  environment: 'dev.gilgal.environment',
  deployment: 'dev.gilgal.deployment',
  revision: 'dev.gilgal.revision',
} as const

/** Filter value selecting Gilgal's objects; anything without it is never touched. */
export const MANAGED_FILTER = `${LABELS.managed}=true`
