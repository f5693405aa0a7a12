import {
  CRASH_LOOP_RESTARTS,
  type Action,
  type EnvironmentView,
  type ObservedContainer,
  type Plan,
  type RevisionView,
} from './model.js'
import { environmentStatus, failRevision, MESSAGES } from './statuses.js'

const TERMINAL = new Set(['Failed', 'Cancelled'])
const seconds = (n: number) => n * 1000
const at = (iso: string | undefined) => (iso ? Date.parse(iso) : Number.NaN)

/**
 * The environment's next step, as a pure function of what the database and Docker show now
 * (DESIGN.md section 5). Level-triggered: it derives where a rollout stands from the revisions'
 * phases and timestamps and the observed containers, so a controller killed at any step resumes
 * from the same facts. The executor does the actions and requeues; nothing here waits.
 */
export function planEnvironment(
  env: EnvironmentView,
  revisions: RevisionView[],
  containers: ObservedContainer[],
  now: number,
): Plan {
  const newestFirst = [...revisions].sort((a, b) => b.revision - a.revision)
  const active = newestFirst.find((r) => r.phase === 'Active')
  const target = newestFirst.find((r) => !TERMINAL.has(r.phase))
  if (env.paused) return { actions: [], status: { ...env.status, phase: env.status.phase ?? 'Pending' } }
  if (!target) return planIdle(env, newestFirst, containers)
  if (active && target.id === active.id) return planSteady(env, active, newestFirst, containers, now)
  if (!target.imageId) return planWaiting(env, active, target, containers)
  return planRollout(env, active, target, containers, now)
}

/** No revision to run: nothing serves. */
function planIdle(env: EnvironmentView, revisions: RevisionView[], containers: ObservedContainer[]): Plan {
  return {
    actions: containers.map((c) => ({ type: 'remove', containerId: c.id })),
    status: environmentStatus(env, undefined, undefined, [], revisions.length ? 'Failed' : 'Pending'),
  }
}

/** The target is still being built: the active revision keeps serving. */
function planWaiting(
  env: EnvironmentView,
  active: RevisionView | undefined,
  target: RevisionView,
  containers: ObservedContainer[],
): Plan {
  const serving = active ? containers.filter((c) => c.deploymentId === active.id) : []
  return { actions: [], status: environmentStatus(env, active, target, serving, 'Progressing') }
}

/** Keep `replicas` healthy containers of the active revision; watch it through its bake window. */
function planSteady(
  env: EnvironmentView,
  active: RevisionView,
  revisions: RevisionView[],
  containers: ObservedContainer[],
  now: number,
): Plan {
  const mine = containers.filter((c) => c.deploymentId === active.id)
  const bakeEnds = at(active.status.readyAt) + seconds(env.rollout.monitorSeconds)
  const previous = revisions.find((r) => r.id === active.status.previousDeployment)
  const baking = now < bakeEnds && previous !== undefined && env.rollout.autoRollback
  if (baking) {
    // Restarts before the switch were judged by the deadline; only those since count here.
    const restartedSince = (c: ObservedContainer) =>
      c.restartCount > (active.status.restartsAtReady?.[c.id] ?? 0)
    const broken = mine.find((c) => restartedSince(c) || !c.running || c.verdict === 'unhealthy')
    if (broken) return rollBackBake(env, active, previous, containers, broken)
  }
  const keep = new Set(baking && previous ? [active.id, previous.id] : [active.id])
  const actions: Action[] = containers
    .filter((c) => !keep.has(c.deploymentId))
    .map((c) => ({ type: 'remove', containerId: c.id }))
  actions.push(...replicaActions(active.id, mine, env.replicas))
  const crashLooping = mine.some((c) => c.restartCount >= CRASH_LOOP_RESTARTS)
  const ready = mine.filter((c) => c.running && c.verdict === 'healthy')
  // The newest revision failed and this one serves instead: Degraded until the user deploys again.
  const newest = revisions[0]
  const rolledBack = newest?.phase === 'Failed' && newest.status.rolledBack === true
  const degraded = crashLooping || rolledBack || ready.length < env.replicas
  const status = environmentStatus(env, active, active, ready, degraded ? 'Degraded' : 'Available')
  if (crashLooping) status.reason = 'CrashLoop'
  else if (rolledBack) status.reason = 'RolledBack'
  const settled = !crashLooping && ready.length >= env.replicas && !baking && actions.length === 0
  return { actions, status, requeueAfterMs: settled ? undefined : baking ? bakeEnds - now : 250 }
}

/** Create missing replicas, start stopped ones, remove those beyond `replicas` (scale in place). */
function replicaActions(deploymentId: string, mine: ObservedContainer[], replicas: number): Action[] {
  const actions: Action[] = []
  for (let index = 0; index < replicas; index++) {
    const container = mine.find((c) => c.index === index)
    if (!container) actions.push({ type: 'create', deploymentId, index })
    else if (!container.running && !container.restarting)
      actions.push({ type: 'start', containerId: container.id }) // never started, or stopped by hand
    else if (container.running && container.verdict === 'unhealthy')
      actions.push({ type: 'remove', containerId: container.id }) // recreated on the next pass
  }
  for (const extra of mine.filter((c) => c.index >= replicas))
    actions.push({ type: 'remove', containerId: extra.id })
  return actions
}

/** A new revision died or turned unhealthy in its bake window: the previous one serves again. */
function rollBackBake(
  env: EnvironmentView,
  failed: RevisionView,
  previous: RevisionView,
  containers: ObservedContainer[],
  broken: ObservedContainer,
): Plan {
  const reason = broken.verdict === 'unhealthy' && broken.running ? 'HealthCheckFailed' : 'CrashLoop'
  const actions: Action[] = [
    ...containers
      .filter((c) => c.deploymentId === failed.id)
      .map((c): Action => ({ type: 'remove', containerId: c.id })),
    ...containers
      .filter((c) => c.deploymentId === previous.id && !c.running)
      .map((c): Action => ({ type: 'start', containerId: c.id })),
    failRevision(failed, reason, broken, true),
    { type: 'revision', deploymentId: previous.id, patch: { phase: 'Active', rolledBackFrom: failed.id } },
  ]
  const serving = containers.filter((c) => c.deploymentId === previous.id)
  const status = environmentStatus(env, { ...previous, phase: 'Active' }, previous, serving, 'Degraded')
  status.reason = 'RolledBack'
  return {
    actions,
    status,
    requeueAfterMs: 500,
    outcome: { type: 'RolledBack', deploymentId: failed.id, reason },
  }
}

/** Rollout of `target` over `active` (either strategy), from wherever it stands. */
function planRollout(
  env: EnvironmentView,
  active: RevisionView | undefined,
  target: RevisionView,
  containers: ObservedContainer[],
  now: number,
): Plan {
  const incoming = containers.filter((c) => c.deploymentId === target.id)
  const outgoing = active ? containers.filter((c) => c.deploymentId === active.id) : []
  const strangers = containers.filter((c) => c.deploymentId !== target.id && c.deploymentId !== active?.id)
  const cleanup: Action[] = strangers.map((c) => ({ type: 'remove', containerId: c.id }))
  if (target.phase !== 'Deploying') {
    const stopFirst = env.rollout.strategy === 'StopFirst'
    const actions: Action[] = [
      ...cleanup,
      ...(stopFirst
        ? outgoing.filter((c) => c.running).map((c): Action => ({ type: 'stop', containerId: c.id }))
        : []),
      {
        type: 'revision',
        deploymentId: target.id,
        patch: { phase: 'Deploying', deployStartedAt: new Date(now).toISOString() },
      },
      ...replicaActions(target.id, incoming, env.replicas),
    ]
    return {
      actions,
      status: environmentStatus(env, active, target, outgoing, 'Progressing'),
      requeueAfterMs: 250,
    }
  }
  if (target.status.switchedAt) return planDrain(env, active, target, incoming, outgoing, cleanup, now)
  const failure = deployFailure(env, target, incoming, now)
  if (failure) return failRollout(env, active, target, incoming, outgoing, failure)
  const healthy = incoming.filter((c) => c.running && c.verdict === 'healthy' && c.index < env.replicas)
  if (healthy.length >= env.replicas) {
    const switchedAt = new Date(now).toISOString()
    const actions: Action[] = [
      ...cleanup,
      { type: 'revision', deploymentId: target.id, patch: { switchedAt } },
    ]
    const switched = { ...target, status: { ...target.status, switchedAt } }
    const drain = planDrain(env, active, switched, incoming, outgoing, [], now)
    return { ...drain, actions: [...actions, ...drain.actions] }
  }
  const actions = [...cleanup, ...replicaActions(target.id, incoming, env.replicas)]
  return {
    actions,
    status: environmentStatus(env, active, target, outgoing, 'Progressing'),
    requeueAfterMs: 250,
  }
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

/** The incoming revision failed before the switch: remove it; the active one never stopped (StartFirst). */
function failRollout(
  env: EnvironmentView,
  active: RevisionView | undefined,
  target: RevisionView,
  incoming: ObservedContainer[],
  outgoing: ObservedContainer[],
  failure: { reason: string; container?: ObservedContainer },
): Plan {
  const restore = env.rollout.autoRollback
  const cancelled = failure.reason === 'Cancelled'
  const revisionAction: Action = cancelled
    ? {
        type: 'revision',
        deploymentId: target.id,
        patch: { phase: 'Cancelled', message: MESSAGES.Cancelled, finishedAt: new Date().toISOString() },
      }
    : failRevision(target, failure.reason, failure.container, Boolean(active))
  const actions: Action[] = [
    ...incoming.map((c): Action => ({ type: 'remove', containerId: c.id })),
    ...(restore
      ? outgoing.filter((c) => !c.running).map((c): Action => ({ type: 'start', containerId: c.id }))
      : []),
    revisionAction,
  ]
  const status = environmentStatus(env, active, active, outgoing, active ? 'Degraded' : 'Failed')
  if (active && !cancelled) status.reason = 'RolledBack'
  if (cancelled) status.phase = active ? 'Available' : 'Pending'
  const outcome = cancelled
    ? undefined
    : { type: 'Failed' as const, deploymentId: target.id, reason: failure.reason }
  return { actions, status, requeueAfterMs: 250, outcome }
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
        restartsAtReady: Object.fromEntries(incoming.map((c) => [c.id, c.restartCount])),
        ...(active ? { previousDeployment: active.id } : {}),
      },
    },
    ...(active
      ? [{ type: 'revision' as const, deploymentId: active.id, patch: { phase: 'Superseded' } }]
      : []),
  ]
  const activated = { ...target, phase: 'Active' }
  const status = environmentStatus(env, activated, activated, ready, 'Available')
  return {
    actions,
    status,
    requeueAfterMs: seconds(env.rollout.monitorSeconds) || 1000,
    outcome: { type: 'Active', deploymentId: target.id },
  }
}
