import type { SecretKey } from '../../config/secrets.js'
import type { Reconciler } from '../../controller/reconciler.js'
import { specDefaults } from '../../manifests/schemas.js'
import type { Metrics } from '../../metrics/registry.js'
import type { Limits } from '../../model/limits.js'
import type { HealthCheck } from '../../model/specs.js'
import { DockerConflictError } from '../../runtime/errors.js'
import type { FencedRuntime } from '../../runtime/fence.js'
import { LABELS } from '../../runtime/labels.js'
import { mergeDeploymentStatus } from '../../store/deployments.js'
import { readRolloutState, writeEnvironmentStatus, type RolloutState } from '../../store/environments.js'
import type { Pool } from '../../store/pool.js'
import { removeDeleted } from '../../store/spec-tables.js'
import { withTransaction } from '../../store/tx.js'
import { containerSpecFor, distributableImageOf, projectNetwork, REPLICA_LABEL } from './containers.js'
import {
  FIRST_PROBE_MS,
  type Action,
  type EnvironmentView,
  type ObservedContainer,
  type RevisionView,
} from './model.js'
import { announceLogs } from '../../log-bus.js'
import { appendSystemLines } from '../../store/deployment-logs.js'
import { withConditions } from './conditions.js'
import { containerChanges } from './revision-containers.js'
import { rolloutLines } from './rollout-log.js'
import { planEnvironment } from './plan.js'
import { ProbeTracker } from './probes.js'
import { reportOutcome, RestartCounter } from './report.js'
import { routeFirst, urlsOf, type Routing } from './routing.js'

export interface EnvironmentReconcilerDeps {
  pool: Pool
  runtime: FencedRuntime
  secretKeys: readonly SecretKey[]
  /** GILGAL_MAX_MEMORY and GILGAL_MAX_CPUS: every container runs within them. */
  bounds: Pick<Limits, 'memoryBytes' | 'cpus'>
  metrics?: Metrics
  /** Container and network names start with it (see containerSpecFor). */
  namePrefix?: string
  /** Caddy routes the apps (GILGAL_CADDY_ADMIN_URL); absent, ports are published on loopback instead. */
  routing?: Routing
  now?: () => number
}

// The schema's defaults, laid under what a row holds: rows written before a field existed lack it.
const DEFAULTS = specDefaults('Environment')
const STOP_TIMEOUT_SECONDS = 10
const FAILURE_LOG_LINES = 5

/**
 * The environment reconciler: observe the environment's containers (and probe them), ask the planner
 * for the next step, do it, write status, and requeue. It never sleeps in a worker.
 */
export function createEnvironmentReconciler(deps: EnvironmentReconcilerDeps): Reconciler {
  const probes = new ProbeTracker()
  const restarts = new RestartCounter()
  const now = deps.now ?? Date.now
  return {
    async reconcile(key, _signal, context) {
      const state = await readRolloutState(deps.pool, key.id)
      if (!state) return {}
      if (state.environment.deleting) return tearDown(deps, state)
      const observed = await observe(deps.runtime, probes, state, now())
      const plan = planEnvironment(environmentView(state), revisionViews(state), observed, now())
      restarts.observe(observed, deps.metrics)
      const routedAt = await routeFirst(deps.routing, state, plan, context.log)
      await execute(deps, state, plan.actions, routedAt)
      await recordContainers(deps.pool, state, observed)
      await reportOutcome(deps, state, plan, now())
      const status = {
        ...plan.status,
        ...(deps.routing ? { urls: urlsOf(deps.routing, state) } : {}),
        observedGeneration: state.environment.generation,
      }
      await writeEnvironmentStatus(
        deps.pool,
        state.environment.id,
        withConditions(status, state.environment.status, now()),
      )
      const probing = observed.length > 0 ? probeInterval(state) : undefined
      const started = plan.actions.some((a) => a.type === 'create' || a.type === 'start')
      // Come back for the next rollout step, the next probe, or a first probe, whichever is sooner.
      const waits = [plan.requeueAfterMs, probing, started ? FIRST_PROBE_MS : undefined].filter(
        (ms): ms is number => ms !== undefined,
      )
      return waits.length > 0 ? { requeueAfterMs: Math.min(...waits) } : {}
    },
  }
}

function environmentView(state: RolloutState): EnvironmentView {
  const spec = state.environment.spec
  return {
    id: state.environment.id,
    replicas: spec.replicas ?? DEFAULTS.replicas,
    paused: spec.paused ?? DEFAULTS.paused,
    rollout: { ...DEFAULTS.rollout, ...spec.rollout },
    status: state.environment.status,
  }
}

function revisionViews(state: RolloutState): RevisionView[] {
  return state.revisions.map((r) => ({
    id: r.id,
    revision: r.revision,
    phase: r.status.phase ?? 'Queued',
    imageId: r.status.imageId,
    cancelRequested: r.cancelRequested,
    status: r.status,
  }))
}

function healthCheckOf(revision: RolloutState['revisions'][number] | undefined): HealthCheck {
  return { ...DEFAULTS.healthCheck, ...revision?.spec.healthCheck }
}

function probeInterval(state: RolloutState): number {
  return healthCheckOf(state.revisions[0]).intervalSeconds * 1000
}

/** Every labelled container of the environment, inspected and probed. */
async function observe(
  runtime: FencedRuntime,
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
    const { verdict, lastError } = await probes.probe(details, healthCheckOf(revision), now)
    observed.push({
      id: details.id,
      name: details.name,
      deploymentId,
      index: Number(details.labels[REPLICA_LABEL] ?? 0),
      running: details.running,
      restarting: details.status === 'restarting',
      restartCount: details.restartCount,
      startedAt: details.startedAt ? Date.parse(details.startedAt) : undefined,
      exitCode: details.exitCode,
      verdict,
      lastProbeError: lastError,
      url: details.address ? `http://${details.address.host}:${details.address.port}` : undefined,
      upstream: details.networkAddress
        ? `${details.networkAddress.host}:${details.networkAddress.port}`
        : undefined,
      ...(details.node ? { node: details.node } : {}),
      ...(details.waiting ? { waiting: details.waiting } : {}),
    })
  }
  probes.retain(new Set(observed.map((c) => c.id)))
  return observed
}

async function execute(
  deps: EnvironmentReconcilerDeps,
  state: RolloutState,
  actions: Action[],
  routedAt: string | undefined,
): Promise<void> {
  await recordRevisions(deps, actions, routedAt)
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
        await deps.runtime.removeContainer(action.containerId, state.project.id)
        break
    }
  }
  await logSteps(deps, state, actions)
}

/** Each revision's `status.containers`, written only for revisions whose containers changed. */
async function recordContainers(
  pool: Pool,
  state: RolloutState,
  observed: ObservedContainer[],
): Promise<void> {
  for (const [deploymentId, containers] of containerChanges(state.revisions, observed))
    await mergeDeploymentStatus(pool, deploymentId, { containers })
}

/** Each revision's log gets the step's lines after its build's, and its followers are woken. */
async function logSteps(
  deps: EnvironmentReconcilerDeps,
  state: RolloutState,
  actions: Action[],
): Promise<void> {
  const revisionOf = (id: string) => state.revisions.find((r) => r.id === id)?.revision
  for (const [deploymentId, lines] of rolloutLines(actions, revisionOf)) {
    await appendSystemLines(deps.pool, deploymentId, lines)
    announceLogs(deploymentId)
  }
}

/**
 * The step's revision phases, all in one transaction and before any container is touched: a crash
 * then leaves the database ahead of Docker (which the next pass repairs), never behind it (a bake
 * failure forgotten, or two revisions Active).
 */
async function recordRevisions(
  deps: EnvironmentReconcilerDeps,
  actions: Action[],
  routedAt: string | undefined,
): Promise<void> {
  const revisions = actions
    .filter((a): a is Extract<Action, { type: 'revision' }> => a.type === 'revision')
    .map((a) => (routedAt && a.patch.switchedAt ? { ...a, patch: { ...a.patch, switchedAt: routedAt } } : a))
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
async function failureLogs(runtime: FencedRuntime, actions: Action[]): Promise<Map<string, string[]>> {
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
  const imageId = revision?.status.imageId
  if (!revision || imageId === undefined) return
  const network = projectNetwork(state.project.name, deps.namePrefix)
  await deps.runtime.ensureNetwork(network, { [LABELS.project]: state.project.id })
  const spec = containerSpecFor({
    project: state.project,
    environment: state.environment,
    revision: {
      ...revision,
      status: {
        imageId,
        exposedPort: revision.status.exposedPort,
        distributableImage: distributableImageOf(revision.status),
      },
    },
    index,
    secretKeys: deps.secretKeys,
    bounds: deps.bounds,
    namePrefix: deps.namePrefix,
    publish: !deps.routing,
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
  // Routes first (the routed set leaves out environments being deleted): no hostname may point at an
  // address that is about to be freed, and perhaps given to somebody else's container.
  await deps.routing?.routes.sync()
  for (const container of await deps.runtime.listManaged({ environmentId: state.environment.id })) {
    await deps.runtime.removeContainer(container.id, state.project.id)
  }
  await removeDeleted(deps.pool, 'Environment', state.environment.id)
  return {}
}
