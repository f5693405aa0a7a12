import type { EnvironmentPhase } from '../../model/phases.js'
import type { EnvironmentStatus } from '../../model/specs.js'
import type { Action, EnvironmentView, ObservedContainer, RevisionView } from './model.js'

/** Why a revision failed (or was cancelled), in words, by its `status.reason`. */
export const MESSAGES: Record<string, string> = {
  HealthCheckFailed: 'the new containers did not pass their health checks',
  ProgressDeadlineExceeded: 'the new containers did not become healthy within progressDeadlineSeconds',
  CrashLoop: 'a new container kept exiting',
  Cancelled: 'cancelled while deploying',
}

/** The revision turns Failed: the reason, the last probe error, and (for the executor) whose logs to quote. */
export function failRevision(
  revision: RevisionView,
  reason: string,
  container: ObservedContainer | undefined,
  rolledBack: boolean,
  now: number,
): Action {
  const detail = container?.lastProbeError
    ? `; last probe: ${container.lastProbeError}`
    : container?.waiting
      ? `; not running: ${container.waiting}`
      : ''
  const message = `${MESSAGES[reason] ?? reason}${detail}`
  return {
    type: 'revision',
    deploymentId: revision.id,
    patch: { phase: 'Failed', reason, message, rolledBack, finishedAt: new Date(now).toISOString() },
    failedContainers: container ? [container.id] : [],
  }
}

/** The environment's status: phase, the serving and target revisions, replica counts and URLs. */
export function environmentStatus(
  env: EnvironmentView,
  serving: RevisionView | undefined,
  target: RevisionView | undefined,
  routed: ObservedContainer[],
  phase: EnvironmentPhase,
): EnvironmentStatus {
  const ready = routed.filter((c) => c.running && c.verdict === 'healthy')
  return {
    phase,
    activeDeployment:
      serving && serving.phase === 'Active' ? { id: serving.id, revision: serving.revision } : null,
    targetDeployment: target ? { id: target.id, revision: target.revision } : null,
    replicas: {
      desired: env.replicas,
      ready: ready.length,
      updated: target ? routed.filter((c) => c.deploymentId === target.id).length : 0,
    },
    urls: ready.flatMap((c) => (c.url ? [c.url] : [])),
    upstreams: upstreamsOf(env, routed),
  }
}

/**
 * Where traffic goes: the routed containers that run and pass their probes, and those that were
 * routed already and are only unproven again (a new leadership term or a restarted controller probes
 * from scratch): they keep their traffic until a probe says otherwise.
 */
function upstreamsOf(env: EnvironmentView, routed: ObservedContainer[]): string[] {
  const before = new Set(env.status.upstreams ?? [])
  const routable = (c: ObservedContainer) =>
    c.running && (c.verdict === 'healthy' || (c.verdict === 'starting' && before.has(c.upstream ?? '')))
  return routed.flatMap((c) => (routable(c) && c.upstream ? [c.upstream] : [])).sort()
}
