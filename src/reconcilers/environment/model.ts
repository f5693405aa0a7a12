/** What the environment planner sees and decides (the rollout steps are in docs/ARCHITECTURE.md). */
import type { DeploymentPhase } from '../../model/phases.js'
import type { DeploymentStatus, EnvironmentStatus, Rollout } from '../../model/specs.js'

export interface EnvironmentView {
  id: string
  replicas: number
  paused: boolean
  rollout: Rollout
  status: EnvironmentStatus
}

/** The status fields of a revision the planner reads: the controller's own bookkeeping. */
export type RevisionBookkeeping = Pick<
  DeploymentStatus,
  | 'deployStartedAt'
  | 'switchedAt'
  | 'restartsAtSwitch'
  | 'readyAt'
  | 'restartsAtReady'
  | 'previousDeployment'
  | 'rolledBack'
  | 'rolledBackFrom'
>

/** One revision as the planner needs it. */
export interface RevisionView {
  id: string
  revision: number
  phase: DeploymentPhase
  imageId: string | undefined
  cancelRequested: boolean
  status: RevisionBookkeeping
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
  /** When it last started (ms since the epoch), if it ever did. */
  startedAt: number | undefined
  exitCode: number
  verdict: Verdict
  lastProbeError: string | undefined
  url: string | undefined
  /** `ip:port` on the project network, where Caddy reaches it. */
  upstream: string | undefined
  /** The Swarm node it runs on. */
  node?: string
  /** Why it does not run yet, as the runtime says (a Swarm task no node can take). */
  waiting?: string
}

export type Action =
  | { type: 'create'; deploymentId: string; index: number }
  | { type: 'start'; containerId: string }
  | { type: 'stop'; containerId: string }
  | { type: 'remove'; containerId: string }
  | { type: 'revision'; deploymentId: string; patch: DeploymentStatus; failedContainers?: string[] }

export interface Plan {
  actions: Action[]
  /** The environment's status as it should be after the actions. */
  status: EnvironmentStatus
  requeueAfterMs?: number
  /** A revision this reconcile failed or rolled back, for events and metrics. */
  outcome?: { type: 'Failed' | 'RolledBack' | 'Active'; deploymentId: string; reason?: string }
}

/** How soon to look again while containers are starting: a new one is routed to as soon as it answers. */
export const STARTING_REQUEUE_MS = 100

/**
 * How soon to look again after this reconcile started a container: docker start returns once the
 * process runs, and most apps listen within milliseconds, so the first probe goes at once rather than
 * a starting period later (that period was the largest step of apply -> first 200, and of a crash ->
 * serving again, after Docker's own start). An app not listening yet is probed every 100 ms after.
 */
export const FIRST_PROBE_MS = 10

/** Restarts after which a container counts as crash-looping. */
export const CRASH_LOOP_RESTARTS = 3

/**
 * Running this long since its last start, a container that crash-looped is out of the loop (Docker
 * itself resets its restart backoff after 10 s): its lifetime restart count no longer says CrashLoop.
 */
export const CRASH_LOOP_RECOVERED_MS = 30_000

/**
 * How soon to look again at a crash loop with nothing to do: Docker restarts the container with its
 * own backoff, and each start and death is an event that wakes the reconciler anyway.
 */
export const CRASH_LOOP_RECHECK_MS = 5_000

export function isCrashLooping(container: ObservedContainer, now: number): boolean {
  if (container.restartCount < CRASH_LOOP_RESTARTS) return false
  const { running, startedAt } = container
  return !(running && startedAt !== undefined && now - startedAt >= CRASH_LOOP_RECOVERED_MS)
}
