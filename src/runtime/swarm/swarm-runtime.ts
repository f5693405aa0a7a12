import type Docker from 'dockerode'
import { createDockerRuntime } from '../docker-runtime.js'
import { docker, DockerConflictError, engineStatus } from '../errors.js'
import { LABELS, managedFilters, ownership, type Ownership } from '../labels.js'
import { watchNodeEvents } from '../events.js'
import { containerLogLines, demultiplex } from '../logs.js'
import type { ManagedContainer, Runtime } from '../runtime.js'
import { createTaskPlaces, type SwarmReach } from './places.js'
import { serviceOptions } from './service-spec.js'
import { currentTask, describeService, replicasOf, type SwarmService, type SwarmTask } from './tasks.js'

export interface SwarmRuntimeOptions {
  reach: SwarmReach
  /** Placement constraints every service gets besides its environment's (`node.id==…` for host reach). */
  constraints: string[]
}

/**
 * The Runtime on a Docker Swarm manager. Each replica the planner asks for is a service of one task:
 * Swarm places it on a node, restarts it, and moves it off a lost node, while the planner keeps
 * choosing which replica starts, takes traffic, drains and goes (a replicated service would choose
 * for itself which task a scale-down stops, under Caddy's feet). Images, networks (attachable
 * overlays) and the event watch are the engine runtime's; services carry the same labels as
 * containers, and so do their tasks' containers.
 */
export function createSwarmRuntime(
  engine: Docker,
  owner: Ownership = ownership(),
  options: SwarmRuntimeOptions = { reach: 'host', constraints: [] },
): Runtime {
  const base = createDockerRuntime(engine, owner, { Driver: 'overlay', Attachable: true })
  const places = createTaskPlaces(engine, options.reach)
  const inspectService = async (id: string): Promise<SwarmService | undefined> => {
    try {
      return (await engine.getService(id).inspect()) as SwarmService
    } catch (error) {
      if (engineStatus(error) === 404) return undefined
      throw error
    }
  }
  const scale = (id: string, replicas: number) =>
    docker(`scale service ${id} to ${replicas}`, async () => {
      const service = (await engine.getService(id).inspect()) as SwarmService & {
        Version: { Index: number }
        Spec: Docker.ServiceSpec
      }
      if (replicasOf(service) === replicas) return
      await engine.getService(id).update({
        ...service.Spec,
        version: service.Version.Index,
        Mode: { Replicated: { Replicas: replicas } },
      })
    })
  return {
    ...base,
    listManaged: (filter) =>
      docker('list services', async () => {
        const label = managedFilters(owner, filter)
        const services = (await engine.listServices({ filters: { label } })) as SwarmService[]
        return services
          .filter((s) => owner.owns(s.Spec.Labels))
          .map((s): ManagedContainer => ({
            id: s.ID,
            name: s.Spec.Name,
            labels: s.Spec.Labels ?? {},
            state: replicasOf(s) > 0 ? 'running' : 'exited',
          }))
      }),
    inspectContainer: (id) =>
      docker(`inspect service ${id}`, async () => {
        const service = await inspectService(id)
        if (!service) return undefined
        const tasks = (
          (await engine.listTasks({ filters: { service: [service.ID] } })) as SwarmTask[]
        ).filter((t) => t.ServiceID === service.ID)
        return describeService(service, tasks, await places.of(currentTask(tasks)))
      }),
    createContainer: (spec) =>
      docker(`create service for ${spec.name}`, async () => {
        const constraints = [...options.constraints, ...(spec.placement?.constraints ?? [])]
        const placed = { ...spec, placement: { constraints } }
        const created = (await engine.createService(serviceOptions(placed, owner.labels))) as unknown as {
          id?: string
          ID?: string
        }
        return created.id ?? created.ID ?? ''
      }),
    // A service runs its task from the moment it is made; starting is scaling a stopped one back up.
    startContainer: (id) => scale(id, 1),
    // Swarm stops the task within the service's stop grace period (the container runtime's timeout).
    stopContainer: (id) => scale(id, 0),
    removeContainer: (id, projectId) =>
      docker(`remove service ${id}`, async () => {
        const service = await inspectService(id)
        if (!service) return
        const labels = service.Spec.Labels ?? {}
        if (labels[LABELS.managed] !== 'true' || !owner.owns(labels) || labels[LABELS.project] !== projectId)
          throw new DockerConflictError(
            `service ${service.Spec.Name} is not this project's: Gilgal leaves it alone`,
          )
        try {
          await engine.getService(id).remove()
        } catch (error) {
          if (engineStatus(error) !== 404) throw error // removed meanwhile
        }
      }),
    containerLogs: (id, tail) =>
      docker(`logs of service ${id}`, async () => {
        const output = (await engine
          .getService(id)
          .logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer
        return demultiplex(output)
          .split('\n')
          .filter((line) => line !== '')
      }),
    followLogs: (id, options) => containerLogLines(engine, id, options, 'service'),
    // The manager's node's container events, as on one engine, and the cluster's node events.
    watchContainerEvents: async (sinceSeconds, onEvent, onEnd) => {
      let ended = false
      const closers: Array<() => void> = []
      const end = (error?: Error) => {
        if (ended) return
        ended = true
        for (const close of closers) close()
        onEnd(error)
      }
      closers.push(await base.watchContainerEvents(sinceSeconds, onEvent, end))
      try {
        closers.push(await watchNodeEvents(engine, sinceSeconds, onEvent, end))
      } catch (error) {
        closers[0]!()
        throw error
      }
      return () => {
        ended = true
        for (const close of closers) close()
      }
    },
  }
}
