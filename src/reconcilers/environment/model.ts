/** What the environment planner sees and decides (DESIGN.md sections 1 and 5). */

export interface RolloutSettings {
  strategy: 'StartFirst' | 'StopFirst'
  progressDeadlineSeconds: number
  autoRollback: boolean
  drainSeconds: number
  monitorSeconds: number
  revisionHistoryLimit: number
}

export interface EnvironmentView {
  id: string
  replicas: number
  paused: boolean
  rollout: RolloutSettings
  status: Record<string, unknown>
}

/** One revision as the planner needs it; `status` fields are the controller's own bookkeeping. */
export interface RevisionView {
  id: string
  revision: number
  phase: string
  imageId: string | undefined
  cancelRequested: boolean
  status: {
    deployStartedAt?: string | null
    /** When routes switched to it (StartFirst step 3); the drain runs from here. */
    switchedAt?: string | null
    /** Restart counts at the switch: a restart during the drain fails the revision. */
    restartsAtSwitch?: Record<string, number> | null
    readyAt?: string | null
    /** Each container's restart count when it became Active: the bake window counts restarts after. */
    restartsAtReady?: Record<string, number> | null
    /** The revision it replaced: kept stopped through the bake window for a rollback. */
    previousDeployment?: string | null
    /** It failed and the revision before it kept (or went back to) serving. */
    rolledBack?: boolean
  }
}

/** A container's health as the controller's probes (or Docker's, for exec) judge it. */
export type Verdict = 'starting' | 'healthy' | 'unhealthy'

export interface ObservedContainer {
  id: string
  name: string
  deploymentId: string
  index: number
  running: boolean
  /** Docker is restarting it (its restart policy, with backoff): not ours to start. */
  restarting: boolean
  restartCount: number
  exitCode: number
  verdict: Verdict
  lastProbeError: string | undefined
  url: string | undefined
}

export type Action =
  | { type: 'create'; deploymentId: string; index: number }
  | { type: 'start'; containerId: string }
  | { type: 'stop'; containerId: string }
  | { type: 'remove'; containerId: string }
  | { type: 'revision'; deploymentId: string; patch: Record<string, unknown>; failedContainers?: string[] }

export interface Plan {
  actions: Action[]
  /** The environment's status as it should be after the actions. */
  status: Record<string, unknown>
  requeueAfterMs?: number
  /** A revision this reconcile failed or rolled back, for events and metrics. */
  outcome?: { type: 'Failed' | 'RolledBack' | 'Active'; deploymentId: string; reason?: string }
}

/** How soon to look again while containers are starting: a new one is routed to as soon as it answers. */
export const STARTING_REQUEUE_MS = 100

/** Restarts after which a container counts as crash-looping. */
export const CRASH_LOOP_RESTARTS = 3
