/**
 * The phases of revisions and environments, and the sets of them the code asks about. Every module
 * that names a phase takes it from here, so a phase added or renamed is one change.
 */

/** A revision's life: Queued → Building → Deploying → Active → Superseded, or Failed / Cancelled. */
export const DEPLOYMENT_PHASES = [
  'Queued',
  'Building',
  'Deploying',
  'Active',
  'Superseded',
  'Failed',
  'Cancelled',
] as const
export type DeploymentPhase = (typeof DEPLOYMENT_PHASES)[number]

export const ENVIRONMENT_PHASES = [
  'Pending',
  'Progressing',
  'Available',
  'Degraded',
  'Failed',
  'Deleting',
] as const
export type EnvironmentPhase = (typeof ENVIRONMENT_PHASES)[number]

type PhaseSet = readonly DeploymentPhase[]

/** The deployment reconciler's part: the source is not an image yet. */
export const BUILDING_PHASES = ['Queued', 'Building'] as const satisfies PhaseSet

/**
 * Nothing is left for the controller to do unasked: the resync skips these revisions and a cancel
 * is refused. (The partial index `deployments_live_idx` of migration 0001 lists the same four.)
 */
export const FINISHED_PHASES = ['Active', 'Superseded', 'Failed', 'Cancelled'] as const satisfies PhaseSet

/** Out of the target rule: the controller never deploys these again; the user deploys or rolls back. */
export const TERMINAL_PHASES = ['Failed', 'Cancelled'] as const satisfies PhaseSet

/** Will never run again by themselves (a rollback makes a new revision). */
export const RETIRED_PHASES = ['Superseded', 'Failed', 'Cancelled'] as const satisfies PhaseSet

/** Their containers run, or are starting. */
export const RUNNING_PHASES = ['Deploying', 'Active'] as const satisfies PhaseSet

/** Whether `phase` is one of `set` (a typed `includes` for the readonly tuples above). */
export function isPhaseIn(phase: DeploymentPhase | undefined, set: PhaseSet): boolean {
  return phase !== undefined && set.includes(phase)
}

/** Whether a revision's build is over: it has its image, or it left the building phases another way. */
export function isBuildOver(status: { phase?: DeploymentPhase; imageId?: string }): boolean {
  return status.imageId !== undefined || !isPhaseIn(status.phase ?? 'Queued', BUILDING_PHASES)
}
