import { isDeepStrictEqual } from 'node:util'
import type { ContainerStatus, DeploymentStatus } from '../../model/specs.js'
import type { ObservedContainer } from './model.js'

/**
 * The revisions whose `status.containers` no longer say what runs, with what they should say: each
 * container as observed (name, id, state, health, restarts, address, last probe error), by replica.
 * Revisions whose containers did not change are left out, so nothing is written for them.
 */
export function containerChanges(
  revisions: ReadonlyArray<{ id: string; status: DeploymentStatus }>,
  observed: readonly ObservedContainer[],
): Map<string, ContainerStatus[]> {
  const changes = new Map<string, ContainerStatus[]>()
  for (const revision of revisions) {
    const now = observed
      .filter((c) => c.deploymentId === revision.id)
      .sort((a, b) => a.index - b.index || a.name.localeCompare(b.name))
      .map(statusOf)
    if (!isDeepStrictEqual(now, revision.status.containers ?? [])) changes.set(revision.id, now)
  }
  return changes
}

function statusOf(container: ObservedContainer): ContainerStatus {
  return {
    name: container.name,
    id: container.id,
    state: container.running ? 'running' : container.restarting ? 'restarting' : 'stopped',
    health: container.verdict,
    restarts: container.restartCount,
    ...(container.upstream ? { address: container.upstream } : {}),
    ...(container.node ? { node: container.node } : {}),
    ...(container.waiting ? { waiting: container.waiting } : {}),
    ...(container.lastProbeError ? { lastProbeError: container.lastProbeError } : {}),
  }
}
