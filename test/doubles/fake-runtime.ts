import type { ContainerDetails, ContainerSpec, ManagedContainer, Runtime } from '../../src/runtime/runtime.js'

export interface RecordedCall {
  epoch: number
  method: keyof Runtime
  args: unknown[]
  at: number
}

interface FakeContainer extends ContainerDetails {
  spec: ContainerSpec
}

/**
 * Tests only: an in-memory engine that records every call with the leadership epoch of the runtime
 * view that made it, so a test can assert which term touched "Docker". Containers can be made to
 * crash or turn unhealthy.
 */
export class FakeRuntime {
  readonly calls: RecordedCall[] = []
  readonly containers = new Map<string, FakeContainer>()
  readonly networks = new Set<string>()
  private nextId = 1

  /** The runtime as used under `epoch`, recording into this fake. */
  forEpoch(epoch: number, onCall?: (call: RecordedCall) => void): Runtime {
    const record = (method: keyof Runtime, args: unknown[]) => {
      const call = { epoch, method, args, at: Date.now() }
      this.calls.push(call)
      onCall?.(call)
    }
    return {
      listManaged: async (filter) => {
        record('listManaged', [filter])
        return [...this.containers.values()]
          .filter((c) => !filter.environmentId || c.labels['dev.gilgal.environment'] === filter.environmentId)
          .filter((c) => !filter.projectId || c.labels['dev.gilgal.project'] === filter.projectId)
          .map((c): ManagedContainer => ({ id: c.id, name: c.name, labels: c.labels, state: c.status }))
      },
      inspectContainer: async (id) => {
        const container = this.containers.get(id)
        return container && { ...container }
      },
      createContainer: async (spec: ContainerSpec) => {
        record('createContainer', [spec])
        if ([...this.containers.values()].some((c) => c.name === spec.name))
          throw new Error(`conflict: ${spec.name} exists`)
        const id = `fake-${this.nextId++}`
        this.containers.set(id, fakeContainer(id, spec))
        return id
      },
      startContainer: async (id) => {
        record('startContainer', [id])
        this.update(id, { running: true, status: 'running', startedAt: new Date().toISOString() })
      },
      stopContainer: async (id, timeoutSeconds) => {
        record('stopContainer', [id, timeoutSeconds])
        this.update(id, { running: false, status: 'exited' })
      },
      removeContainer: async (id) => {
        record('removeContainer', [id])
        this.containers.delete(id)
      },
      containerLogs: async () => ['fake log line'],
      followLogs: async function* () {
        yield { stream: 'stdout' as const, message: 'fake log line', at: new Date(0).toISOString() }
      },
      ensureNetwork: async (name) => {
        record('ensureNetwork', [name])
        this.networks.add(name)
      },
      listManagedNetworks: async () =>
        [...this.networks].map((name) => ({ id: name, name, labels: {}, createdAt: 0 })),
      listManagedImages: async () => [],
      removeImage: async (id) => record('removeImage', [id]),
      removeNetwork: async (name) => {
        record('removeNetwork', [name])
        this.networks.delete(name)
      },
    }
  }

  /** Changes what the next inspect of `id` shows (a crash, a restart, a health verdict). */
  update(id: string, patch: Partial<ContainerDetails>): void {
    const container = this.containers.get(id)
    if (container) Object.assign(container, patch)
  }
}

function fakeContainer(id: string, spec: ContainerSpec): FakeContainer {
  return {
    id,
    name: spec.name,
    labels: { ...spec.labels, 'dev.gilgal.managed': 'true' },
    running: false,
    status: 'created',
    exitCode: 0,
    restartCount: 0,
    oomKilled: false,
    startedAt: undefined,
    dockerHealth: undefined,
    dockerHealthOutput: undefined,
    address: spec.port ? { host: '127.0.0.1', port: spec.port } : undefined,
    networkAddress: undefined,
    spec,
  }
}
