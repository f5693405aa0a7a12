import type Docker from 'dockerode'
import { docker, DockerConflictError, engineStatus, isGone } from './errors.js'
import { LABELS, managedFilters, ownership, type Ownership } from './labels.js'
import { containerOptions, describeContainer } from './container-options.js'
import { watchContainerEvents } from './events.js'
import { createImageOperations } from './images/operations.js'
import { containerLogLines, demultiplex } from './logs.js'
import type { ContainerSpec, ManagedContainer, Runtime } from './runtime.js'

/**
 * The Runtime on a real engine (dockerode). Only labelled objects are listed, so nothing Gilgal did not
 * create is ever seen, let alone touched. Containers, networks and built images carry the
 * installation's labels whatever the caller passed.
 */
export function createDockerRuntime(
  engine: Docker,
  owner: Ownership = ownership(),
  /** What project networks are made as: a bridge by default (the Swarm runtime makes attachable overlays). */
  networkOptions: Partial<Docker.NetworkCreateOptions> = {},
): Runtime {
  const pendingNetworks = new Map<string, Promise<void>>()
  return {
    ...createImageOperations(engine, owner),
    watchContainerEvents: (sinceSeconds, onEvent, onEnd) =>
      watchContainerEvents(engine, sinceSeconds, onEvent, onEnd),
    listManaged: (filter) =>
      docker('list containers', async () => {
        const label = managedFilters(owner, filter)
        const containers = await engine.listContainers({ all: true, filters: { label } })
        return containers
          .filter((c) => owner.owns(c.Labels))
          .map((c): ManagedContainer => ({
            id: c.Id,
            name: (c.Names[0] ?? '').replace(/^\//, ''),
            labels: c.Labels,
            state: c.State,
          }))
      }),
    inspectContainer: (id) =>
      docker(`inspect container ${id}`, async () => {
        try {
          return describeContainer(await engine.getContainer(id).inspect())
        } catch (error) {
          if (engineStatus(error) === 404) return undefined
          throw error
        }
      }),
    createContainer: (spec: ContainerSpec) =>
      docker(`create container ${spec.name}`, async () => {
        const container = await engine.createContainer(containerOptions(spec, owner.labels))
        return container.id
      }),
    startContainer: (id) =>
      docker(`start container ${id}`, async () => {
        try {
          await engine.getContainer(id).start()
        } catch (error) {
          if (engineStatus(error) !== 304) throw error // already running
        }
      }),
    stopContainer: (id, timeoutSeconds) =>
      docker(`stop container ${id}`, async () => {
        try {
          await engine.getContainer(id).stop({ t: timeoutSeconds })
        } catch (error) {
          if (engineStatus(error) !== 304) throw error // already stopped
        }
      }),
    removeContainer: (id, projectId) =>
      docker(`remove container ${id}`, async () => {
        const container = engine.getContainer(id)
        const info = await container.inspect().catch((error: unknown) => {
          if (engineStatus(error) === 404) return undefined // gone already
          throw error
        })
        if (!info) return
        if (!isProjects(info.Config.Labels ?? {}, projectId, owner))
          throw new DockerConflictError(
            `container ${info.Name} is not this project's: Gilgal leaves it alone`,
          )
        await container.remove({ force: true, v: true })
      }),
    containerLogs: (id, tail) =>
      docker(`logs of container ${id}`, async () => {
        const output = await engine.getContainer(id).logs({ stdout: true, stderr: true, tail })
        return demultiplex(output)
          .split('\n')
          .filter((line) => line !== '')
      }),
    followLogs: (id, options) => containerLogLines(engine, id, options),
    ensureNetwork: (name, labels) =>
      // Docker allows two networks of one name, so creations of a name are serialised here, and the
      // engine is asked to refuse a duplicate as well.
      once(pendingNetworks, name, () =>
        docker(`create network ${name}`, async () => {
          const existing = (await engine.listNetworks({ filters: { name: [name] } })).find(
            (n) => n.Name === name,
          )
          if (existing) return assertOurNetwork(name, existing.Labels ?? {}, labels, owner)
          try {
            await engine.createNetwork({
              ...networkOptions,
              Name: name,
              CheckDuplicate: true,
              Labels: { ...labels, ...owner.labels },
            })
          } catch (error) {
            if (engineStatus(error) !== 409) throw error // created meanwhile
          }
        }),
      ),
    listManagedNetworks: () =>
      docker('list networks', async () => {
        const networks = await engine.listNetworks({ filters: { label: owner.filters } })
        return networks
          .filter((n) => owner.owns(n.Labels))
          .map((n) => ({
            id: n.Id,
            name: n.Name,
            labels: n.Labels ?? {},
            createdAt: Date.parse(n.Created),
          }))
      }),
    attachToNetwork: (network, container) =>
      docker(`connect ${container} to network ${network}`, async () => {
        const info = await engine.getContainer(container).inspect()
        if (info.NetworkSettings.Networks?.[network]) return
        await engine.getNetwork(network).connect({ Container: info.Id })
      }),
    detachFromNetwork: (network, container) =>
      docker(`disconnect ${container} from network ${network}`, async () => {
        try {
          await engine.getNetwork(network).disconnect({ Container: container, Force: true })
        } catch (error) {
          // Not connected, or the network or the container is gone: nothing to undo.
          if (![403, 404].includes(engineStatus(error) ?? 0)) throw error
        }
      }),
    removeNetwork: (name, projectId) =>
      docker(`remove network ${name}`, async () => {
        try {
          const network = engine.getNetwork(name)
          const info = (await network.inspect()) as { Labels?: Record<string, string> }
          if (!isProjects(info.Labels ?? {}, projectId, owner)) return // not this project's: leave it
          await network.remove()
        } catch (error) {
          if (!isGone(error)) throw error
        }
      }),
  }
}

/** Whether an object's labels say it is Gilgal's, this installation's and project `projectId`'s. */
function isProjects(labels: Record<string, string>, projectId: string, owner: Ownership): boolean {
  return labels[LABELS.managed] === 'true' && owner.owns(labels) && labels[LABELS.project] === projectId
}

/** A network of this name exists: it must be Gilgal's, this installation's and this project's. */
function assertOurNetwork(
  name: string,
  found: Record<string, string>,
  wanted: Record<string, string>,
  owner: Ownership,
): void {
  if (found[LABELS.managed] !== 'true')
    throw new DockerConflictError(`network ${name} exists and is not Gilgal's`)
  if (!owner.owns(found))
    throw new DockerConflictError(`network ${name} belongs to another Gilgal installation`)
  if (wanted[LABELS.project] && found[LABELS.project] !== wanted[LABELS.project])
    throw new DockerConflictError(`network ${name} belongs to another project`)
}

/** Runs `work` for `key` unless a run for it is already under way, whose result it then shares. */
function once(pending: Map<string, Promise<void>>, key: string, work: () => Promise<void>): Promise<void> {
  const running = pending.get(key)
  if (running) return running
  const started = work().finally(() => pending.delete(key))
  pending.set(key, started)
  return started
}
