import { BuildError } from '../../src/runtime/images/build.js'
import { ImagePullError } from '../../src/runtime/images/transfer.js'
import type { ContainerEvent } from '../../src/runtime/events.js'
import {
  RUNTIME_READS,
  type ContainerDetails,
  type ContainerSpec,
  type ImageBuild,
  type ImageInfo,
  type ManagedContainer,
  type RegistryAuth,
  type Runtime,
} from '../../src/runtime/runtime.js'

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
 * crash or turn unhealthy; builds can be made to fail; `registry` holds what a pull can find.
 */
export class FakeRuntime {
  readonly calls: RecordedCall[] = []
  readonly containers = new Map<string, FakeContainer>()
  readonly networks = new Set<string>()
  /** Images on the "engine", by tag and by id. */
  readonly images = new Map<string, ImageInfo>()
  /** Images a pull can fetch, by reference. */
  readonly registry = new Map<string, Omit<ImageInfo, 'digests'>>()
  /** Set to make the next builds fail with this message. */
  buildFailure: string | undefined
  private nextId = 1

  /** The runtime as used under `epoch`, recording into this fake. */
  forEpoch(epoch: number, onCall?: (call: RecordedCall) => void): Runtime {
    const record = (method: keyof Runtime, args: unknown[]) => {
      const call = { epoch, method, args, at: Date.now() }
      this.calls.push(call)
      onCall?.(call)
    }
    return {
      ...this.containerOperations(record),
      ...this.imageOperations(record),
      ensureNetwork: async (name) => {
        record('ensureNetwork', [name])
        this.networks.add(name)
      },
      listManagedNetworks: async () =>
        [...this.networks].map((name) => ({ id: name, name, labels: {}, createdAt: 0 })),
      attachToNetwork: async (network, container) => {
        record('attachToNetwork', [network, container])
      },
      detachFromNetwork: async (network, container) => {
        record('detachFromNetwork', [network, container])
      },
      removeNetwork: async (name, projectId) => {
        record('removeNetwork', [name, projectId])
        this.networks.delete(name)
      },
      watchContainerEvents: async (_since: number, _onEvent: (event: ContainerEvent) => void) => () =>
        undefined,
    }
  }

  /** Puts an image on the "engine", found by its reference and by its id. */
  addImage(ref: string, image: ImageInfo): void {
    this.images.set(ref, image).set(image.id, image)
  }

  /** The calls that changed the "engine": all but the reads. */
  mutations(): RecordedCall[] {
    return this.calls.filter((call) => !(RUNTIME_READS as readonly string[]).includes(call.method))
  }

  /** Changes what the next inspect of `id` shows (a crash, a restart, a health verdict). */
  update(id: string, patch: Partial<ContainerDetails>): void {
    const container = this.containers.get(id)
    if (container) Object.assign(container, patch)
  }

  private containerOperations(record: (method: keyof Runtime, args: unknown[]) => void) {
    return {
      listManaged: async (filter: { environmentId?: string; projectId?: string }) => {
        record('listManaged', [filter])
        return [...this.containers.values()]
          .filter((c) => !filter.environmentId || c.labels['dev.gilgal.environment'] === filter.environmentId)
          .filter((c) => !filter.projectId || c.labels['dev.gilgal.project'] === filter.projectId)
          .map((c): ManagedContainer => ({ id: c.id, name: c.name, labels: c.labels, state: c.status }))
      },
      inspectContainer: async (id: string) => {
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
      startContainer: async (id: string) => {
        record('startContainer', [id])
        this.update(id, { running: true, status: 'running', startedAt: new Date().toISOString() })
      },
      stopContainer: async (id: string, timeoutSeconds: number) => {
        record('stopContainer', [id, timeoutSeconds])
        this.update(id, { running: false, status: 'exited' })
      },
      removeContainer: async (id: string, projectId: string) => {
        record('removeContainer', [id, projectId])
        this.containers.delete(id)
      },
      containerLogs: async () => ['fake log line'],
      followLogs: async function* () {
        yield { stream: 'stdout' as const, message: 'fake log line', at: new Date(0).toISOString() }
      },
    }
  }

  private imageOperations(record: (method: keyof Runtime, args: unknown[]) => void) {
    return {
      findImage: async (ref: string) => this.images.get(ref),
      buildImage: async (
        build: ImageBuild,
        onLine: (line: { stream: 'stdout'; message: string }) => void,
      ) => {
        record('buildImage', [build])
        if (this.buildFailure) throw new BuildError(this.buildFailure, [this.buildFailure])
        onLine({ stream: 'stdout', message: `fake build of ${build.tag}` })
        const id = `sha256:fake-${this.nextId++}`
        this.addImage(build.tag, {
          id,
          exposedPort: 8080,
          builtFor: build.labels['dev.gilgal.project'],
          digests: [],
        })
        const image = { id }
        return image.id
      },
      pullImage: async (ref: string, auth: RegistryAuth | undefined) => {
        record('pullImage', [ref, auth])
        const image = this.registry.get(ref)
        if (!image) throw new ImagePullError(ref, 'not found')
        const repository = ref.slice(0, ref.lastIndexOf(':'))
        this.addImage(ref, { ...image, digests: [`${repository}@sha256:${'d'.repeat(64)}`] })
        return image.id
      },
      pushImage: async (imageId: string, remoteRef: string) => {
        record('pushImage', [imageId, remoteRef])
        return `sha256:digest-of-${imageId.slice(7)}`
      },
      listManagedImages: async () => [],
      removeImage: async (id: string) => record('removeImage', [id]),
      removeDanglingImages: async () => (record('removeDanglingImages', []), 0),
    }
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
