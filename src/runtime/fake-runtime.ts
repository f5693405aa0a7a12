import type { ContainerSpec, ManagedContainer, Runtime } from './runtime.js'

export interface RecordedCall {
  epoch: number
  method: keyof Runtime
  args: unknown[]
  at: number
}

/**
 * Tests only: an in-memory engine that records every call with the leadership epoch of the runtime
 * view that made it, so a test can assert which term touched "Docker".
 */
export class FakeRuntime {
  readonly calls: RecordedCall[] = []
  private readonly containers = new Map<string, ManagedContainer>()
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
        return [...this.containers.values()].filter(
          (c) => !filter.environmentId || c.labels['dev.gilgal.environment'] === filter.environmentId,
        )
      },
      createContainer: async (spec: ContainerSpec) => {
        record('createContainer', [spec])
        const id = `fake-${this.nextId++}`
        this.containers.set(id, { id, name: spec.name, labels: spec.labels, state: 'created' })
        return id
      },
      startContainer: async (id) => {
        record('startContainer', [id])
        this.setState(id, 'running')
      },
      stopContainer: async (id, timeoutSeconds) => {
        record('stopContainer', [id, timeoutSeconds])
        this.setState(id, 'exited')
      },
      removeContainer: async (id) => {
        record('removeContainer', [id])
        this.containers.delete(id)
      },
    }
  }

  private setState(id: string, state: string): void {
    const container = this.containers.get(id)
    if (container) container.state = state
  }
}
