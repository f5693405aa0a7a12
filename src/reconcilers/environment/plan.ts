import {
  CRASH_LOOP_RECHECK_MS,
  isCrashLooping,
  STARTING_REQUEUE_MS,
  type Action,
  type EnvironmentView,
  type ObservedContainer,
  type Plan,
  type RevisionView,
} from './model.js'
import { FINISHED_PHASES, isPhaseIn, RETIRED_PHASES } from '../../model/phases.js'
import { replicaActions } from './replicas.js'
import { planRollout } from './rollout.js'
import { environmentStatus, failRevision } from './statuses.js'

const seconds = (n: number) => n * 1000
const at = (iso: string | undefined | null) => (iso ? Date.parse(iso) : Number.NaN)

/**
 * The environment's next step, as a pure function of what the database and Docker show now, and of
 * `now`: it reads no clock. Level-triggered: it derives where a rollout stands from the revisions'
 * phases and timestamps and the observed containers, so a controller killed at any step resumes
 * from the same facts. The executor does the actions and requeues; nothing here waits.
 */
export function planEnvironment(
  env: EnvironmentView,
  revisions: RevisionView[],
  containers: ObservedContainer[],
  now: number,
): Plan {
  return withoutLeaving(planStep(env, revisions, containers, now), containers)
}

/** A container the plan stops or removes takes no traffic: routes leave it before it goes. */
function withoutLeaving(plan: Plan, containers: ObservedContainer[]): Plan {
  const leaving = new Set(
    plan.actions.flatMap((a) => (a.type === 'stop' || a.type === 'remove' ? [a.containerId] : [])),
  )
  const gone = new Set(containers.filter((c) => leaving.has(c.id)).map((c) => c.upstream))
  if (gone.size === 0 || !plan.status.upstreams) return plan
  return { ...plan, status: { ...plan.status, upstreams: plan.status.upstreams.filter((u) => !gone.has(u)) } }
}

function planStep(
  env: EnvironmentView,
  revisions: RevisionView[],
  containers: ObservedContainer[],
  now: number,
): Plan {
  const newestFirst = [...revisions].sort((a, b) => b.revision - a.revision)
  const active = newestFirst.find((r) => r.phase === 'Active')
  // A revision routes already point at is finished (or failed) before a newer one starts.
  const switching = newestFirst.find((r) => r.phase === 'Deploying' && r.status.switchedAt)
  // Retired revisions never come back by themselves (a rollback makes a new revision).
  const target = switching ?? newestFirst.find((r) => !isPhaseIn(r.phase, RETIRED_PHASES))
  if (env.paused) return { actions: [], status: { ...env.status, phase: env.status.phase ?? 'Pending' } }
  if (!target) return planIdle(env, newestFirst, containers)
  if (active && target.id === active.id) return planSteady(env, active, newestFirst, containers, now)
  if (!target.imageId) return planWaiting(env, active, target, containers)
  const skipped = newestFirst.filter(
    (r) =>
      r.revision < target.revision &&
      r.revision > (active?.revision ?? 0) &&
      !isPhaseIn(r.phase, FINISHED_PHASES),
  )
  return planRollout(env, active, target, containers, now, skipped)
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
    if (broken) return rollBackBake(env, active, previous, containers, broken, now)
  }
  const ready = mine.filter((c) => c.running && c.verdict === 'healthy')
  // After a bake-window rollback, the failed revision's healthy containers serve until these are ready.
  const bridge =
    ready.length < env.replicas && active.status.rolledBackFrom
      ? containers.filter(
          (c) => c.deploymentId === active.status.rolledBackFrom && c.running && c.verdict === 'healthy',
        )
      : []
  const keep = new Set(baking && previous ? [active.id, previous.id] : [active.id])
  const actions: Action[] = containers
    .filter((c) => !keep.has(c.deploymentId) && !bridge.includes(c))
    .map((c) => ({ type: 'remove', containerId: c.id }))
  actions.push(...replicaActions(active.id, mine, env.replicas))
  const crashLooping = mine.some((c) => isCrashLooping(c, now))
  // The newest revision failed and this one serves instead: Degraded until the user deploys again.
  const newest = revisions[0]
  const rolledBack = newest?.phase === 'Failed' && newest.status.rolledBack === true
  const degraded = crashLooping || rolledBack || ready.length < env.replicas
  const status = environmentStatus(
    env,
    active,
    active,
    [...mine, ...bridge],
    degraded ? 'Degraded' : 'Available',
  )
  if (crashLooping) status.reason = 'CrashLoop'
  else if (rolledBack) status.reason = 'RolledBack'
  const settled = !crashLooping && ready.length >= env.replicas && !baking && actions.length === 0
  return {
    actions,
    status,
    requeueAfterMs: settled ? undefined : baking ? bakeEnds - now : nextLook(crashLooping, actions),
  }
}

/** A new revision died or turned unhealthy in its bake window: the previous one serves again. */
function rollBackBake(
  env: EnvironmentView,
  failed: RevisionView,
  previous: RevisionView,
  containers: ObservedContainer[],
  broken: ObservedContainer,
  now: number,
): Plan {
  const reason = broken.verdict === 'unhealthy' && broken.running ? 'HealthCheckFailed' : 'CrashLoop'
  // The new containers still healthy keep serving while the previous ones start (see planSteady).
  const healthy = (c: ObservedContainer) => c.running && c.verdict === 'healthy' && c.id !== broken.id
  const failedOnes = containers.filter((c) => c.deploymentId === failed.id)
  const actions: Action[] = [
    ...failedOnes.filter((c) => !healthy(c)).map((c): Action => ({ type: 'remove', containerId: c.id })),
    ...containers
      .filter((c) => c.deploymentId === previous.id && !c.running)
      .map((c): Action => ({ type: 'start', containerId: c.id })),
    failRevision(failed, reason, broken, true, now),
    // Restored, it is on probation no more: no bake window against an older revision of its own.
    {
      type: 'revision',
      deploymentId: previous.id,
      patch: { phase: 'Active', rolledBackFrom: failed.id, previousDeployment: null },
    },
  ]
  const serving = [...containers.filter((c) => c.deploymentId === previous.id), ...failedOnes.filter(healthy)]
  const status = environmentStatus(env, { ...previous, phase: 'Active' }, previous, serving, 'Degraded')
  status.reason = 'RolledBack'
  return {
    actions,
    status,
    requeueAfterMs: 500,
    outcome: { type: 'RolledBack', deploymentId: failed.id, reason },
  }
}

/** A crash loop with nothing to do waits for Docker's events; anything else is looked at again soon. */
function nextLook(crashLooping: boolean, actions: Action[]): number {
  return crashLooping && actions.length === 0 ? CRASH_LOOP_RECHECK_MS : STARTING_REQUEUE_MS
}
