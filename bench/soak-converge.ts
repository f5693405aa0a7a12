/** The wait for the invariants to hold, with a deadline, redeploying what the kills legitimately failed. */
import { setTimeout as delay } from 'node:timers/promises'
import { PROJECT } from './soak-load.js'
import {
  liveChecks,
  observe,
  stateChecks,
  type Check,
  type Observation,
  type SoakDeps,
} from './soak-check.js'

// Each environment's newest revision that failed or was cancelled is redeployed, at most this often.
const MAX_REDEPLOYS = 3
// How often the state is read while waiting: a poll of a condition, not a stand-in for one.
const POLL_MS = 500

/** A newest revision that did not become Active, and was redeployed at the end. */
export interface Redeploy {
  environment: string
  revision: number
  phase: string
  reason: string | null
}

export interface Convergence {
  /** Whether every check passed before the deadline. */
  converged: boolean
  seconds: number
  checks: Check[]
  redeploys: Redeploy[]
  /** The last look: what the summary counts revisions from. */
  observation: Observation
}

/**
 * Waits until every invariant holds or `deadlineSeconds` pass (or `stop`: one last look); the checks
 * are those of the last look. The live checks (URLs answer, containers' env) run only once the state
 * checks pass, or at the end.
 */
export async function converge(
  deps: SoakDeps,
  deadlineSeconds: number,
  stop?: AbortSignal,
): Promise<Convergence> {
  const started = performance.now()
  const redeploys: Redeploy[] = []
  const seconds = () => (performance.now() - started) / 1000
  for (;;) {
    const observation = await observe(deps)
    const redeployed = !stop?.aborted && (await redeployUnfinished(deps, observation, redeploys))
    const timedOut = seconds() > deadlineSeconds || stop?.aborted === true
    if (!redeployed || timedOut) {
      const checks = stateChecks(observation, deps.models)
      if (checks.every((c) => c.ok) || timedOut) {
        const all = [...checks, ...(await liveChecks(observation))]
        const converged = all.every((c) => c.ok)
        if (converged || timedOut)
          return { converged, seconds: seconds(), checks: all, redeploys, observation }
      }
    }
    await delay(POLL_MS)
  }
}

/**
 * A newest revision that Failed (a kill landed on one of its new containers: CrashLoop) or was
 * Cancelled leaves its environment serving an older revision: right, but then the last acknowledged
 * configuration runs nowhere. A user would deploy again; so does the soak, and each such revision is
 * reported (a failure for a reason the kills cannot explain is worth a look). True when it deployed.
 */
async function redeployUnfinished(deps: SoakDeps, o: Observation, done: Redeploy[]): Promise<boolean> {
  let deployed = false
  for (const environment of o.environments) {
    const newest = o.revisions.filter((r) => r.environmentId === environment.id).at(-1)
    if (!newest || (newest.phase !== 'Failed' && newest.phase !== 'Cancelled')) continue
    const earlier = done.filter((r) => r.environment === environment.name)
    if (earlier.length >= MAX_REDEPLOYS || earlier.some((r) => r.revision === newest.revision)) continue
    const { revision, phase, reason } = newest
    done.push({ environment: environment.name, revision, phase, reason })
    const body = { environment: environment.name }
    const answer = await deps.call('POST', `/api/projects/${PROJECT}/deployments`, body)
    deps.tally.classify(answer, `redeploy ${environment.name}`)
    deployed = true
  }
  return deployed
}
