import { setTimeout as delay } from 'node:timers/promises'
import { deploy } from '../desired-state/deployments.js'
import { flushEvents } from '../desired-state/write-context.js'
import { FINISHED_PHASES, isPhaseIn } from '../model/phases.js'
import { findDeployment, type Deployment } from '../store/deployments.js'
import type { Pool } from '../store/pool.js'
import { withTransaction } from '../store/tx.js'
import { DEMO_REFS } from './demo-repository.js'
import { writeContext, type SeedDeps, type SeededUser } from './users.js'

const SETTLE_TIMEOUT_MS = 5 * 60_000
const POLL_MS = 500

/**
 * Deploys each seeded user's demo versions in turn, each once the one before it has finished, so the
 * history shows what a demo should: a revision that serves, a build that failed, a rollout rolled
 * back. A controller does the work: the running server's, or the one `gilgal seed` runs meanwhile.
 */
export async function playDemoHistory(
  pool: Pool,
  seeded: SeededUser[],
  deps: Pick<SeedDeps, 'secrets' | 'reservedHostnames'>,
  say: (line: string) => void,
): Promise<void> {
  for (const { user, ownerId, project, environment, firstRevision } of seeded) {
    const report = (finished: Deployment, ref: string) =>
      say(`${project.name}/${environment.name} revision ${finished.revision} (${ref}): ${outcome(finished)}`)
    if (firstRevision) report(await waitUntilFinished(pool, firstRevision), DEMO_REFS.good)
    for (const ref of user.history) {
      const created = await withTransaction(pool, async (client) => {
        const ctx = writeContext(client, ownerId, user.username, deps)
        const { deployment } = await deploy(ctx, project, environment, { source: { git: { ref } } })
        await flushEvents(ctx)
        return deployment
      })
      report(await waitUntilFinished(pool, created.id), ref)
    }
  }
}

async function waitUntilFinished(pool: Pool, id: string): Promise<Deployment> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS
  for (;;) {
    const deployment = await findDeployment(pool, id)
    if (!deployment) throw new Error(`revision ${id} disappeared while the seed waited for it`)
    if (isPhaseIn(deployment.status.phase, FINISHED_PHASES)) return deployment
    if (Date.now() > deadline)
      throw new Error(
        `revision ${deployment.revision} of ${deployment.projectName} is still ${deployment.status.phase} ` +
          `after ${SETTLE_TIMEOUT_MS / 1000} s: see gilgal logs deployment/${deployment.environmentName}-r${deployment.revision}`,
      )
    await delay(POLL_MS)
  }
}

function outcome({ status }: Deployment): string {
  if (status.phase !== 'Failed') return status.phase ?? 'unknown'
  const firstLine = (status.message ?? '').split('\n')[0]
  return `Failed (${status.reason}${status.rolledBack ? ', rolled back' : ''}): ${firstLine}`
}
