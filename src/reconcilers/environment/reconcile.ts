import type { SecretKey } from '../../config/secrets.js'
import { DockerConflictError } from '../../runtime/errors.js'
import { LABELS } from '../../runtime/labels.js'
import type { Runtime } from '../../runtime/runtime.js'
import { mergeDeploymentStatus } from '../../store/builds.js'
import { withTransaction } from '../../store/tx.js'
import { removeDeleted } from '../../store/controller.js'
import type { Pool } from '../../store/pool.js'
import { readRolloutState, writeEnvironmentStatus, type RolloutState } from '../../store/rollouts.js'
import type { Reconciler } from '../reconciler.js'
import { containerSpecFor, projectNetwork, REPLICA_LABEL } from './containers.js'
import type { Action, EnvironmentView, ObservedContainer, RevisionView, RolloutSettings } from './model.js'
import { planEnvironment } from './plan.js'
import { ProbeTracker, type HealthCheckSpec } from './probes.js'
import { reportOutcome, RestartCounter } from './report.js'
import type { Metrics } from '../../metrics/registry.js'

export interface EnvironmentReconcilerDeps {
  pool: Pool
  /** Fenced: every mutation checks the leadership term first. */
  runtime: Runtime
  secretKeys: readonly SecretKey[]
  metrics?: Metrics
  /** Container and network names start with it (see containerSpecFor). */
  namePrefix?: string
  now?: () => number
}

const DEFAULT_CHECK: HealthCheckSpec = {
  intervalSeconds: 2,
  timeoutSeconds: 2,
  healthyThreshold: 1,
  failureThreshold: 3,
  startPeriodSeconds: 0,
}
// The manifest schema's defaults, for rows written without them.
const DEFAULT_ROLLOUT: RolloutSettings = {
  strategy: 'StartFirst',
  progressDeadlineSeconds: 120,
  autoRollback: true,
  drainSeconds: 5,
  monitorSeconds: 30,
  revisionHistoryLimit: 10,
}
const STOP_TIMEOUT_SECONDS = 10
const FAILURE_LOG_LINES = 5

/**
 * The environment reconciler (issue 6): observe the environment's containers (and probe them), ask
 * the planner for the next step, do it, write status, and requeue. It never sleeps in a worker.
 */
export function createEnvironmentReconciler(deps: EnvironmentReconcilerDeps): Reconciler {
  const probes = new ProbeTracker()
  const restarts = new RestartCounter()
  const now = deps.now ?? Date.now
  return {
    async reconcile(key) {
      const state = await readRolloutState(deps.pool, key.slice(key.indexOf('/') + 1))
      if (!state) return {}
      if (state.environment.deleting) return tearDown(deps, state)
      const observed = await observe(deps.runtime, probes, state, now())
      const plan = planEnvironment(environmentView(state), revisionViews(state), observed, now())
      restarts.observe(observed, deps.metrics)
      await execute(deps, state, plan.actions)
      await reportOutcome(deps, state, plan, now())
      await writeEnvironmentStatus(deps.pool, state.environment.id, {
        ...plan.status,
        observedGeneration: state.environment.generation,
      })
      const probing = observed.length > 0 ? probeInterval(state) : undefined
      // Come back for the next rollout step or the next probe, whichever is sooner.
      const waits = [plan.requeueAfterMs, probing].filter((ms): ms is number => ms !== undefined)
      return waits.length > 0 ? { requeueAfterMs: Math.min(...waits) } : {}
    },
  }
}

function environmentView(state: RolloutState): EnvironmentView {
  const spec = state.environment.spec
  return {
    id: state.environment.id,
    replicas: typeof spec.replicas === 'number' ? spec.replicas : 1,
    paused: spec.paused === true,
    rollout: { ...DEFAULT_ROLLOUT, ...(spec.rollout as Partial<RolloutSettings> | undefined) },
    status: state.environment.status,
  }
}

function revisionViews(state: RolloutState): RevisionView[] {
  return state.revisions.map((r) => ({
    id: r.id,
    revision: r.revision,
    phase: String(r.status.phase ?? 'Queued'),
    imageId: typeof r.status.imageId === 'string' ? r.status.imageId : undefined,
    cancelRequested: r.cancelRequested,
    status: r.status as RevisionView['status'],
  }))
}

function probeInterval(state: RolloutState): number {
  const target = state.revisions[0]
  const check = (target?.spec.healthCheck ?? DEFAULT_CHECK) as HealthCheckSpec
  return (check.intervalSeconds ?? 2) * 1000
}

/** Every labelled container of the environment, inspected and probed. */
async function observe(
  runtime: Runtime,
  probes: ProbeTracker,
  state: RolloutState,
  now: number,
): Promise<ObservedContainer[]> {
  const listed = await runtime.listManaged({ environmentId: state.environment.id })
  const observed: ObservedContainer[] = []
  for (const item of listed) {
    const details = await runtime.inspectContainer(item.id)
    if (!details) continue
    const deploymentId = details.labels[LABELS.deployment] ?? ''
    const revision = state.revisions.find((r) => r.id === deploymentId)
    const check = { ...DEFAULT_CHECK, ...((revision?.spec.healthCheck ?? {}) as Partial<HealthCheckSpec>) }
    const { verdict, lastError } = await probes.probe(details, check, now)
    observed.push({
      id: details.id,
      name: details.name,
      deploymentId,
      index: Number(details.labels[REPLICA_LABEL] ?? 0),
      running: details.running,
      restarting: details.status === 'restarting',
      restartCount: details.restartCount,
      exitCode: details.exitCode,
      verdict,
      lastProbeError: lastError,
      url: details.address ? `http://${details.address.host}:${details.address.port}` : undefined,
    })
  }
  probes.retain(new Set(observed.map((c) => c.id)))
  return observed
}

async function execute(
  deps: EnvironmentReconcilerDeps,
  state: RolloutState,
  actions: Action[],
): Promise<void> {
  await recordRevisions(deps, actions)
  for (const action of actions) {
    switch (action.type) {
      case 'create':
        await createReplica(deps, state, action.deploymentId, action.index)
        break
      case 'start':
        await deps.runtime.startContainer(action.containerId)
        break
      case 'stop':
        await deps.runtime.stopContainer(action.containerId, STOP_TIMEOUT_SECONDS)
        break
      case 'remove':
        await deps.runtime.removeContainer(action.containerId)
        break
    }
  }
}

/**
 * The step's revision phases, all in one transaction and before any container is touched: a crash
 * then leaves the database ahead of Docker (which the next pass repairs), never behind it (a bake
 * failure forgotten, or two revisions Active).
 */
async function recordRevisions(deps: EnvironmentReconcilerDeps, actions: Action[]): Promise<void> {
  const revisions = actions.filter((a): a is Extract<Action, { type: 'revision' }> => a.type === 'revision')
  if (revisions.length === 0) return
  const lastLines = await failureLogs(deps.runtime, revisions)
  await withTransaction(deps.pool, async (client) => {
    for (const action of revisions) {
      const logs = lastLines.get(action.deploymentId)
      const message = logs?.length
        ? `${action.patch.message}\nlast log lines:\n${logs.join('\n')}`
        : action.patch.message
      await mergeDeploymentStatus(client, action.deploymentId, {
        ...action.patch,
        ...(message === undefined ? {} : { message }),
      })
    }
  })
}

/** The last log lines of containers whose failure is about to be recorded (before they are removed). */
async function failureLogs(runtime: Runtime, actions: Action[]): Promise<Map<string, string[]>> {
  const logs = new Map<string, string[]>()
  for (const action of actions) {
    if (action.type !== 'revision' || !action.failedContainers?.length) continue
    const lines = await runtime.containerLogs(action.failedContainers[0]!, FAILURE_LOG_LINES).catch(() => [])
    logs.set(action.deploymentId, lines)
  }
  return logs
}

async function createReplica(
  deps: EnvironmentReconcilerDeps,
  state: RolloutState,
  deploymentId: string,
  index: number,
): Promise<void> {
  const revision = state.revisions.find((r) => r.id === deploymentId)
  if (!revision) return
  const network = projectNetwork(state.project.name, deps.namePrefix)
  await deps.runtime.ensureNetwork(network, { [LABELS.project]: state.project.id })
  const spec = containerSpecFor({
    project: state.project,
    environment: state.environment,
    revision,
    index,
    secretKeys: deps.secretKeys,
    namePrefix: deps.namePrefix,
  })
  try {
    await deps.runtime.startContainer(await deps.runtime.createContainer(spec))
  } catch (error) {
    // The planner asks for a replica only when none of ours is listed: the name is somebody else's.
    if (!(error instanceof DockerConflictError)) throw error
    throw new DockerConflictError(
      `a container named ${spec.name} exists and is not this environment's; Gilgal will not touch it`,
      { cause: error },
    )
  }
}

/** Deletion (two-phase): every container of the environment goes, then the row. */
async function tearDown(
  deps: EnvironmentReconcilerDeps,
  state: RolloutState,
): Promise<{ requeueAfterMs?: number }> {
  for (const container of await deps.runtime.listManaged({ environmentId: state.environment.id })) {
    await deps.runtime.removeContainer(container.id)
  }
  await removeDeleted(deps.pool, 'Environment', state.environment.id)
  return {}
}
