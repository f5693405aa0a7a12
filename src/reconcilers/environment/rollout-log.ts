import type { Action } from './model.js'

export interface RolloutLine {
  message: string
  level: 'info' | 'warn' | 'error'
}

/**
 * What a step does to each revision, in words for its log (after its build lines): the rollout as the
 * user follows it with `gilgal logs PROJECT/ENV/rN -f`. Pure: the executor writes what it returns.
 */
export function rolloutLines(
  actions: readonly Action[],
  revisionOf: (id: string) => number | undefined,
): Map<string, RolloutLine[]> {
  const lines = new Map<string, RolloutLine[]>()
  const add = (deploymentId: string, message: string, level: RolloutLine['level'] = 'info') =>
    lines.set(deploymentId, [...(lines.get(deploymentId) ?? []), { message, level }])
  for (const action of actions) {
    if (action.type === 'create') add(action.deploymentId, `starting replica ${action.index}`)
    if (action.type !== 'revision') continue
    const { patch, deploymentId } = action
    const previous = patch.previousDeployment ? revisionOf(patch.previousDeployment) : undefined
    if (patch.phase === 'Deploying') add(deploymentId, 'deploying: starting containers and probing them')
    if (typeof patch.switchedAt === 'string')
      add(deploymentId, 'every replica is healthy: traffic switched to this revision')
    if (patch.phase === 'Active' && patch.rolledBackFrom)
      add(
        deploymentId,
        `serving again: revision ${revisionOf(patch.rolledBackFrom) ?? '?'} was rolled back`,
        'warn',
      )
    else if (patch.phase === 'Active')
      add(deploymentId, `Active${previous ? `: revision ${previous} stopped` : ''}`)
    if (patch.phase === 'Failed')
      add(deploymentId, `Failed (${patch.reason ?? 'unknown'}): ${patch.message ?? ''}`.trimEnd(), 'error')
    if (patch.phase === 'Cancelled') add(deploymentId, 'cancelled', 'warn')
    if (patch.phase === 'Superseded') add(deploymentId, patch.message ?? 'superseded by a newer revision')
  }
  return lines
}
