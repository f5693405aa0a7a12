/** Labels on every Docker object Gilgal creates (docs/ARCHITECTURE.md, Docker objects): observation needs no memory. */
export const LABELS = {
  managed: 'dev.gilgal.managed',
  project: 'dev.gilgal.project',
  environment: 'dev.gilgal.environment',
  deployment: 'dev.gilgal.deployment',
  revision: 'dev.gilgal.revision',
  /** GILGAL_INSTANCE: which installation, when several share one engine. */
  instance: 'dev.gilgal.instance',
} as const

/** Filter value selecting Gilgal's objects; anything without it is never touched. */
export const MANAGED_FILTER = `${LABELS.managed}=true`

/**
 * The labels that make an object this installation's, and the filters that select exactly those.
 * Without an instance name that is every managed object; with one (GILGAL_INSTANCE, and every test
 * file) only the instance's, so installations sharing an engine never see each other's objects.
 */
export interface Ownership {
  labels: Record<string, string>
  filters: string[]
  /** Whether a listed object is this installation's (without an instance: it carries none). */
  owns(labels: Record<string, string> | undefined): boolean
}

export function ownership(instance?: string): Ownership {
  // Always set, empty without an instance: a label an image carries (`LABEL dev.gilgal.instance=x`)
  // would otherwise pass to its containers and hide them from this installation.
  const labels: Record<string, string> = { [LABELS.managed]: 'true', [LABELS.instance]: instance ?? '' }
  return {
    labels,
    filters: [MANAGED_FILTER, ...(instance ? [`${LABELS.instance}=${instance}`] : [])],
    // Docker cannot filter on a label's absence, so an instance-less install checks after listing;
    // objects made before the label was always set carry none, which means the same.
    owns: (objectLabels = {}) => (objectLabels[LABELS.instance] ?? '') === (instance ?? ''),
  }
}

/** Filters selecting an installation's objects, of one environment or project if given. */
export function managedFilters(
  owner: Ownership,
  scope: { environmentId?: string; projectId?: string },
): string[] {
  return [
    ...owner.filters,
    ...(scope.environmentId ? [`${LABELS.environment}=${scope.environmentId}`] : []),
    ...(scope.projectId ? [`${LABELS.project}=${scope.projectId}`] : []),
  ]
}
