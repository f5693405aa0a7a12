import type { Metrics } from '../../metrics/registry.js'
import { revisionName } from '../../model/names.js'
import type { RolloutState } from '../../store/environments.js'
import { insertEvents, type NewEvent } from '../../store/events.js'
import type { Pool } from '../../store/pool.js'
import type { ObservedContainer, Plan } from './model.js'

/**
 * What a rollout step means to people and to Prometheus: an event on the revision (like `kubectl get
 * events`) and the rollout metrics, when a revision became Active, failed, or was rolled back.
 */
export async function reportOutcome(
  deps: { pool: Pool; metrics?: Metrics },
  state: RolloutState,
  plan: Plan,
  now: number,
): Promise<void> {
  const outcome = plan.outcome
  const revision = outcome && state.revisions.find((r) => r.id === outcome.deploymentId)
  if (!outcome || !revision) return
  const serving = plan.status.activeDeployment?.revision
  const started = Date.parse(revision.status.deployStartedAt ?? '')
  const seconds = Number.isNaN(started) ? undefined : (now - started) / 1000
  const event = (type: NewEvent['type'], reason: string, message: string): NewEvent => ({
    projectId: state.project.id,
    object: {
      kind: 'Deployment',
      id: revision.id,
      name: revisionName(state.environment.name, revision.revision),
    },
    type,
    reason,
    message,
    source: 'controller',
    actor: null,
  })
  const keeps = serving === undefined ? 'nothing serves' : `revision ${serving} serves`
  if (outcome.type === 'Active') {
    if (seconds !== undefined) deps.metrics?.rolloutDuration.observe({ result: 'success' }, seconds)
    await insertEvents(deps.pool, [
      event('Normal', 'RolloutComplete', `revision ${revision.revision} is Active`),
    ])
    return
  }
  const reason = outcome.reason ?? 'Failed'
  if (seconds !== undefined) deps.metrics?.rolloutDuration.observe({ result: 'failure' }, seconds)
  if (serving !== undefined) deps.metrics?.rollbacks.inc({ reason })
  const when = outcome.type === 'RolledBack' ? ' in its bake window' : ''
  await insertEvents(deps.pool, [
    event('Warning', reason, `revision ${revision.revision} failed${when} (${reason}); ${keeps}`),
  ])
}

/** Counts container restarts as they are observed (Docker's count only ever grows per container). */
export class RestartCounter {
  private readonly seen = new Map<string, number>()

  observe(containers: ObservedContainer[], metrics: Metrics | undefined): void {
    const current = new Map(containers.map((c) => [c.id, c.restartCount]))
    for (const [id, count] of current) {
      const before = this.seen.get(id)
      if (before !== undefined && count > before) metrics?.containerRestarts.inc(count - before)
    }
    this.seen.clear()
    for (const [id, count] of current) this.seen.set(id, count)
  }
}
