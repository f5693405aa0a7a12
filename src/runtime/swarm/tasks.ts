import type { ContainerDetails } from '../runtime.js'
import { PORT_LABEL } from './service-spec.js'

/** The parts of a Swarm task (GET /tasks) the runtime reads. */
export interface SwarmTask {
  ID: string
  ServiceID: string
  NodeID?: string
  DesiredState: string
  Version?: { Index: number }
  Status: {
    State: string
    Timestamp?: string
    Err?: string
    ContainerStatus?: { ContainerID?: string; ExitCode?: number }
  }
  NetworksAttachments?: Array<{ Network: { Spec: { Name: string } }; Addresses?: string[] }>
}

/** The parts of a Swarm service (GET /services) the runtime reads. */
export interface SwarmService {
  ID: string
  Spec: {
    Name: string
    Labels?: Record<string, string>
    Mode?: { Replicated?: { Replicas?: number } }
    /** Docker takes `HealthCheck` on create (keys are matched without case) and answers `Healthcheck`. */
    TaskTemplate?: { ContainerSpec?: { Healthcheck?: { Test?: string[] } } }
  }
}

/** Where the controller and Caddy reach a task, and the node it runs on (by the caller's lookups). */
export interface TaskPlace {
  /** The task's IP address where Gilgal and Caddy reach it (the port is the service's). */
  host: string | undefined
  node: string | undefined
}

// A task that ended by itself (or was refused by its node): Swarm makes a new one in its place. A task
// shut down by Gilgal (scaled to 0) or orphaned by a lost node is not the app's failure.
const FAILED = new Set(['failed', 'rejected', 'complete'])

export const replicasOf = (service: SwarmService) => service.Spec.Mode?.Replicated?.Replicas ?? 0

/** The task that stands for the replica now: the newest one Swarm wants running, else the newest. */
export function currentTask(tasks: readonly SwarmTask[]): SwarmTask | undefined {
  const newestFirst = byNewest(tasks)
  return newestFirst.find((t) => t.DesiredState === 'running') ?? newestFirst[0]
}

const byNewest = (tasks: readonly SwarmTask[]) =>
  [...tasks].sort((a, b) => (b.Version?.Index ?? 0) - (a.Version?.Index ?? 0))

/**
 * A one-task service as the rollout sees a container: running once its task runs (a task with a
 * health check stays `starting` until Docker calls it healthy, so the manager's list alone tells
 * health); `restarting` while Swarm replaces or places it; its restarts are the tasks that failed
 * (Swarm keeps a few per slot: the count stops growing there, past the crash-loop threshold).
 */
export function describeService(
  service: SwarmService,
  tasks: readonly SwarmTask[],
  place: TaskPlace,
): ContainerDetails {
  const task = currentTask(tasks)
  const state = task?.Status.State
  const wanted = replicasOf(service) > 0 && task?.DesiredState === 'running'
  const running = wanted && (state === 'running' || (state === 'starting' && hasHealthCheck(service)))
  const ended = byNewest(tasks).filter((t) => FAILED.has(t.Status.State))
  const port = Number(service.Spec.Labels?.[PORT_LABEL])
  const address = running && place.host && port ? { host: place.host, port } : undefined
  return {
    id: service.ID,
    name: service.Spec.Name,
    labels: service.Spec.Labels ?? {},
    running,
    // Not running while Swarm wants it: Swarm is placing, starting or replacing it, not ours to start.
    status: running ? 'running' : replicasOf(service) > 0 ? 'restarting' : 'exited',
    exitCode: ended[0]?.Status.ContainerStatus?.ExitCode ?? 0,
    restartCount: ended.length,
    oomKilled: false,
    startedAt: running ? task?.Status.Timestamp : undefined,
    dockerHealth:
      hasHealthCheck(service) && running ? (state === 'running' ? 'healthy' : 'starting') : undefined,
    dockerHealthOutput: ended[0]?.Status.Err,
    // One address for both: the probes and Caddy reach a task the same way (GILGAL_SWARM_REACH).
    address,
    networkAddress: address,
    ...(place.node ? { node: place.node } : {}),
    ...(wanted && !running && task ? { waiting: waitingReason(task) } : {}),
  }
}

/** `pending: no suitable node (scheduling constraints not satisfied on 1 node)`, `preparing`, … */
function waitingReason(task: SwarmTask): string {
  return task.Status.Err ? `${task.Status.State}: ${task.Status.Err}` : task.Status.State
}

function hasHealthCheck(service: SwarmService): boolean {
  const test = service.Spec.TaskTemplate?.ContainerSpec?.Healthcheck?.Test
  return test !== undefined && test.length > 0 && test[0] !== 'NONE'
}

/** A task's address on its project's overlay network (Swarm gives it as `10.0.1.5/24`). */
export function overlayAddress(task: SwarmTask): string | undefined {
  const attachment = task.NetworksAttachments?.find((a) => a.Network.Spec.Name !== 'ingress')
  return attachment?.Addresses?.[0]?.split('/')[0]
}
