import {
  CRASH_LOOP_RESTARTS,
  STARTING_REQUEUE_MS,
  type Action,
  type EnvironmentView,
  type ObservedContainer,
  type Plan,
  type RevisionView,
} from './model.js'
import { replicaActions } from './replicas.js'
import { environmentStatus, failRevision, MESSAGES } from './statuses.js'

const seconds = (n: number) => n * 1000
const at = (iso: string | undefined | null) => (iso ? Date.parse(iso) : Number.NaN)

/** Rollout of `target` over `active` (either strategy), from wherever it stands. */
export function planRollout(
  env: EnvironmentView,
  active: RevisionView | undefined,
  target: RevisionView,
  containers: ObservedContainer[],
  now: number,
  skipped: RevisionView[] = [],
): Plan {
  const incoming = containers.filter((c) => c.deploymentId === target.id)
  const outgoing = active ? containers.filter((c) => c.deploymentId === active.id) : []
  const strangers = containers.filter((c) => c.deploymentId !== target.id && c.deploymentId !== active?.id)
  const cleanup: Action[] = strangers.map((c) => ({ type: 'remove', containerId: c.id }))
  // StopFirst: the old revision is down before (and while) the new one starts; never both running.
  const stopOld = env.rollout.strategy === 'StopFirst' ? stops(outgoing) : []
  if (target.phase !== 'Deploying' && target.cancelRequested) {
    return failRollout(env, active, target, incoming, outgoing, { reason: 'Cancelled' }, now)
  }
  if (target.phase !== 'Deploying') {
    const actions: Action[] = [
      ...cleanup,
      ...stopOld,
      {
        type: 'revision',
        deploymentId: target.id,
        // A revision deployed again (say, the previous one after a rollback) starts with a clean slate.
        patch: {
          phase: 'Deploying',
          deployStartedAt: new Date(now).toISOString(),
          switchedAt: null,
          readyAt: null,
          previousDeployment: null,
          restartsAtReady: null,
          restartsAtSwitch: null,
        },
      },
      // Older revisions that never ran are passed over for good: the target rule never picks them later.
      ...skipped.map((r): Action => ({
        type: 'revision',
        deploymentId: r.id,
        patch: { phase: 'Superseded', message: `superseded by revision ${target.revision} before it ran` },
      })),
      ...replicaActions(target.id, incoming, env.replicas),
    ]
    return {
      actions,
      status: environmentStatus(env, active, target, outgoing, 'Progressing'),
      requeueAfterMs: STARTING_REQUEUE_MS,
    }
  }
  if (target.status.switchedAt) return planDrain(env, active, target, incoming, outgoing, cleanup, now)
  const failure = deployFailure(env, target, incoming, now)
  if (failure) return failRollout(env, active, target, incoming, outgoing, failure, now)
  const healthy = incoming.filter((c) => c.running && c.verdict === 'healthy' && c.index < env.replicas)
  if (healthy.length >= env.replicas) {
    const switchedAt = new Date(now).toISOString()
    const actions: Action[] = [
      ...cleanup,
      {
        type: 'revision',
        deploymentId: target.id,
        patch: { switchedAt, restartsAtSwitch: restartCounts(incoming) },
      },
    ]
    const switched = {
      ...target,
      status: { ...target.status, switchedAt, restartsAtSwitch: restartCounts(incoming) },
    }
    const drain = planDrain(env, active, switched, incoming, outgoing, [], now)
    return { ...drain, actions: [...actions, ...drain.actions] }
  }
  const actions = [...cleanup, ...stopOld, ...replicaActions(target.id, incoming, env.replicas)]
  return {
    actions,
    status: environmentStatus(env, active, target, outgoing, 'Progressing'),
    requeueAfterMs: STARTING_REQUEUE_MS,
  }
}

function stops(containers: ObservedContainer[]): Action[] {
  return containers.filter((c) => c.running).map((c): Action => ({ type: 'stop', containerId: c.id }))
}

/** Why the incoming revision has failed, if it has. */
function deployFailure(
  env: EnvironmentView,
  target: RevisionView,
  incoming: ObservedContainer[],
  now: number,
): { reason: string; container?: ObservedContainer } | undefined {
  if (target.cancelRequested) return { reason: 'Cancelled' }
  const looping = incoming.find((c) => c.restartCount >= CRASH_LOOP_RESTARTS)
  if (looping) return { reason: 'CrashLoop', container: looping }
  const deadline = at(target.status.deployStartedAt) + seconds(env.rollout.progressDeadlineSeconds)
  if (now < deadline) return undefined
  const probed = incoming.find((c) => c.lastProbeError !== undefined && c.verdict !== 'healthy')
  return probed
    ? { reason: 'HealthCheckFailed', container: probed }
    : { reason: 'ProgressDeadlineExceeded', container: incoming.find((c) => c.verdict !== 'healthy') }
}

/** A switched revision that lost a replica, restarted one or was cancelled before it became Active. */
function drainFailure(
  env: EnvironmentView,
  target: RevisionView,
  incoming: ObservedContainer[],
): { reason: string; container?: ObservedContainer } | undefined {
  if (target.cancelRequested) return { reason: 'Cancelled' }
  // Only the replicas routed to at the switch are judged: a replica added since (a scale-up) is
  // still starting, and one beyond `replicas` (a scale-down) is on its way out.
  const atSwitch = target.status.restartsAtSwitch ?? {}
  const judged = incoming.filter((c) => c.id in atSwitch && c.index < env.replicas)
  const died = judged.find((c) => !c.running || c.restartCount > atSwitch[c.id]!)
  if (died) return { reason: 'CrashLoop', container: died }
  // Probed unhealthy, not merely unproven (a new term re-probes from scratch).
  const unhealthy = judged.find((c) => c.verdict === 'unhealthy')
  return unhealthy ? { reason: 'HealthCheckFailed', container: unhealthy } : undefined
}

function restartCounts(containers: ObservedContainer[]): Record<string, number> {
  return Object.fromEntries(containers.map((c) => [c.id, c.restartCount]))
}

/**
 * The incoming revision failed (or was cancelled) before it became Active: remove it, and start the
 * active revision's containers again if they were stopped (StopFirst, or the switch had begun).
 */
function failRollout(
  env: EnvironmentView,
  active: RevisionView | undefined,
  target: RevisionView,
  incoming: ObservedContainer[],
  outgoing: ObservedContainer[],
  failure: { reason: string; container?: ObservedContainer },
  now: number,
): Plan {
  // StartFirst never leaves the active revision down; StopFirst brings it back with autoRollback.
  const restore = env.rollout.autoRollback || env.rollout.strategy === 'StartFirst'
  const cancelled = failure.reason === 'Cancelled'
  const revisionAction: Action = cancelled
    ? {
        type: 'revision',
        deploymentId: target.id,
        patch: { phase: 'Cancelled', message: MESSAGES.Cancelled, finishedAt: new Date(now).toISOString() },
      }
    : failRevision(target, failure.reason, failure.container, Boolean(active), now)
  // The old containers start before the new ones go: after a switch, that is the shorter gap.
  const actions: Action[] = [
    revisionAction,
    ...(restore
      ? outgoing.filter((c) => !c.running).map((c): Action => ({ type: 'start', containerId: c.id }))
      : []),
    ...incoming.map((c): Action => ({ type: 'remove', containerId: c.id })),
  ]
  const status = environmentStatus(env, active, active, outgoing, active ? 'Degraded' : 'Failed')
  if (active && !cancelled) status.reason = 'RolledBack'
  if (cancelled) status.phase = active ? 'Available' : 'Pending'
  const outcome = cancelled
    ? undefined
    : { type: 'Failed' as const, deploymentId: target.id, reason: failure.reason }
  return { actions, status, requeueAfterMs: STARTING_REQUEUE_MS, outcome }
}

/** After the switch: the old containers serve in-flight requests for drainSeconds, then stop. */
function planDrain(
  env: EnvironmentView,
  active: RevisionView | undefined,
  target: RevisionView,
  incoming: ObservedContainer[],
  outgoing: ObservedContainer[],
  cleanup: Action[],
  now: number,
): Plan {
  const drainEnds = at(target.status.switchedAt) + seconds(env.rollout.drainSeconds)
  const ready = incoming.filter((c) => c.running && c.verdict === 'healthy')
  // Until it is Active the new revision can still fail (or be cancelled): the old one then serves again.
  const failure = drainFailure(env, target, incoming)
  if (failure) return failRollout(env, active, target, incoming, outgoing, failure, now)
  const routed = ready.filter((c) => c.index < env.replicas)
  if (routed.length < env.replicas) {
    // Not all proven (again) yet: the old containers keep serving, and no step is taken until they are.
    const status = environmentStatus(env, active, target, ready, 'Progressing')
    const actions = [...cleanup, ...replicaActions(target.id, incoming, env.replicas)]
    return { actions, status, requeueAfterMs: STARTING_REQUEUE_MS }
  }
  if (now < drainEnds) {
    const status = environmentStatus(env, active, target, ready, 'Progressing')
    return { actions: cleanup, status, requeueAfterMs: drainEnds - now }
  }
  // The old containers are stopped first, in their own pass: the bake window starts once they are.
  const stillRunning = outgoing.filter((c) => c.running)
  if (stillRunning.length > 0) {
    const stops = stillRunning.map((c): Action => ({ type: 'stop', containerId: c.id }))
    const status = environmentStatus(env, active, target, ready, 'Progressing')
    return { actions: [...cleanup, ...stops], status, requeueAfterMs: 0 }
  }
  const readyAt = new Date(now).toISOString()
  const actions: Action[] = [
    ...cleanup,
    {
      type: 'revision',
      deploymentId: target.id,
      patch: {
        phase: 'Active',
        readyAt,
        finishedAt: readyAt,
        restartsAtReady: restartCounts(incoming),
        ...(active ? { previousDeployment: active.id } : {}),
      },
    },
    ...(active
      ? [{ type: 'revision', deploymentId: active.id, patch: { phase: 'Superseded' } } satisfies Action]
      : []),
  ]
  const activated: RevisionView = { ...target, phase: 'Active' }
  const status = environmentStatus(env, activated, activated, ready, 'Available')
  return {
    actions,
    status,
    requeueAfterMs: seconds(env.rollout.monitorSeconds) || 1000,
    outcome: { type: 'Active', deploymentId: target.id },
  }
}
