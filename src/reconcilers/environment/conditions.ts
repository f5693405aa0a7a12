import type { Condition, EnvironmentStatus } from '../../model/specs.js'

type Verdict = Omit<Condition, 'lastTransitionTime'>

/**
 * The environment's conditions, derived from its phase, reason and replicas. `lastTransitionTime`
 * moves only when a condition's status flips, so a steady environment's status does not change from
 * one pass to the next (and is not written again).
 */
export function withConditions(
  next: EnvironmentStatus,
  previous: EnvironmentStatus,
  now: number,
): EnvironmentStatus {
  const verdicts = [available(next), progressing(next), degraded(next)]
  const conditions = verdicts.map((verdict): Condition => {
    const before = previous.conditions?.find((c) => c.type === verdict.type)
    const since =
      before && before.status === verdict.status ? before.lastTransitionTime : new Date(now).toISOString()
    return { ...verdict, lastTransitionTime: since }
  })
  return { ...next, conditions }
}

function available(status: EnvironmentStatus): Verdict {
  const ready = status.replicas?.ready ?? 0
  const desired = status.replicas?.desired ?? 0
  const active = status.activeDeployment
  if (!active)
    return {
      type: 'Available',
      status: 'False',
      reason: 'NoActiveRevision',
      message: 'no revision serves yet',
    }
  if (ready === 0)
    return {
      type: 'Available',
      status: 'False',
      reason: 'NoReadyReplicas',
      message: `revision ${active.revision} has no healthy replica`,
    }
  const reason = ready >= desired ? 'MinimumReplicasAvailable' : 'ReplicasUnavailable'
  return {
    type: 'Available',
    status: 'True',
    reason,
    message: `revision ${active.revision}: ${ready}/${desired} replicas healthy`,
  }
}

function progressing(status: EnvironmentStatus): Verdict {
  const target = status.targetDeployment
  if (status.phase === 'Progressing')
    return {
      type: 'Progressing',
      status: 'True',
      reason: 'RolloutInProgress',
      message: `revision ${target?.revision ?? '?'} is rolling out`,
    }
  const reason =
    status.reason ?? (status.phase === 'Available' ? 'RolloutComplete' : (status.phase ?? 'Pending'))
  return {
    type: 'Progressing',
    status: 'False',
    reason,
    message: `no rollout under way (${status.phase ?? 'Pending'})`,
  }
}

function degraded(status: EnvironmentStatus): Verdict {
  if (status.phase === 'Degraded' || status.phase === 'Failed') {
    const reason = status.reason ?? 'ReplicasUnavailable'
    const message = status.phase === 'Failed' ? 'nothing serves' : `serving, but ${reason}`
    return { type: 'Degraded', status: 'True', reason, message }
  }
  return { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'nothing is wrong' }
}
