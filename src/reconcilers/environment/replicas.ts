import type { Action, ObservedContainer } from './model.js'

/** Create missing replicas, start stopped ones, remove those beyond `replicas` (scale in place). */
export function replicaActions(deploymentId: string, mine: ObservedContainer[], replicas: number): Action[] {
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
