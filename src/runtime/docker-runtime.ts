import type Docker from 'dockerode'
import { docker } from './errors.js'
import { LABELS, MANAGED_FILTER } from './labels.js'
import type { ContainerSpec, ManagedContainer, Runtime } from './runtime.js'

/**
 * The Runtime on a real engine (dockerode). Only labelled objects are listed, so nothing Gilgal did not
 * create is ever seen, let alone touched. Containers carry the managed label whatever the caller
 * passed.
 */
export function createDockerRuntime(engine: Docker): Runtime {
  return {
    listManaged: (filter) =>
      docker('list containers', async () => {
        const label = [
          MANAGED_FILTER,
          ...(filter.environmentId ? [`${LABELS.environment}=${filter.environmentId}`] : []),
        ]
        const containers = await engine.listContainers({ all: true, filters: { label } })
        return containers.map((c): ManagedContainer => ({
          id: c.Id,
          name: (c.Names[0] ?? '').replace(/^\//, ''),
          labels: c.Labels,
          state: c.State,
        }))
      }),
    createContainer: (spec: ContainerSpec) =>
      docker(`create container ${spec.name}`, async () => {
        const container = await engine.createContainer({
          name: spec.name,
          Image: spec.image,
          Labels: { ...spec.labels, [LABELS.managed]: 'true' },
          HostConfig: { SecurityOpt: ['no-new-privileges'], CapDrop: [], Privileged: false },
        })
        return container.id
      }),
    startContainer: (id) =>
      docker(`start container ${id}`, async () => void (await engine.getContainer(id).start())),
    stopContainer: (id, timeoutSeconds) =>
      docker(`stop container ${id}`, async () => {
        try {
          await engine.getContainer(id).stop({ t: timeoutSeconds })
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 304) throw error // already stopped
        }
      }),
    removeContainer: (id) =>
      docker(
        `remove container ${id}`,
        async () => void (await engine.getContainer(id).remove({ force: true, v: true })),
      ),
  }
}
