import type { Fence } from '../controller/lease.js'

/** A container Gilgal manages, as observed through its labels. */
export interface ManagedContainer {
  id: string
  name: string
  labels: Record<string, string>
  state: string
}

export interface ContainerSpec {
  name: string
  image: string
  labels: Record<string, string>
}

/**
 * What reconcilers may do to the Docker engine. The builds and rollouts issues grow it; tests fake it
 * here and nowhere else (STYLE.md section 8).
 */
export interface Runtime {
  listManaged(filter: { environmentId?: string }): Promise<ManagedContainer[]>
  createContainer(spec: ContainerSpec): Promise<string>
  startContainer(id: string): Promise<void>
  stopContainer(id: string, timeoutSeconds: number): Promise<void>
  removeContainer(id: string): Promise<void>
}

/**
 * The runtime as one leadership term may use it: every mutation first checks, in the database, that
 * the term's epoch is still current. A leader that was paused past its lease and resumed is refused
 * here, whatever its reconcile was in the middle of. Reads pass through.
 */
export function fencedRuntime(runtime: Runtime, fence: Fence): Runtime {
  const guard =
    <A extends unknown[], R>(mutate: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await fence.assertCurrent()
      return mutate(...args)
    }
  return {
    listManaged: (filter) => runtime.listManaged(filter),
    createContainer: guard((spec: ContainerSpec) => runtime.createContainer(spec)),
    startContainer: guard((id: string) => runtime.startContainer(id)),
    stopContainer: guard((id: string, timeoutSeconds: number) => runtime.stopContainer(id, timeoutSeconds)),
    removeContainer: guard((id: string) => runtime.removeContainer(id)),
  }
}
