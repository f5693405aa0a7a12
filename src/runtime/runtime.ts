import type { Fence } from '../controller/lease.js'
import type { RuntimeLogLine } from './logs.js'

/** A container Gilgal manages, as observed through its labels. */
export interface ManagedContainer {
  id: string
  name: string
  labels: Record<string, string>
  state: string
}

/** Docker's own health check (used for `exec` probes): the command runs inside the container. */
export interface ExecHealthCheck {
  command: string[]
  intervalMs: number
  timeoutMs: number
  retries: number
  startPeriodMs: number
}

export interface ContainerSpec {
  name: string
  image: string
  labels: Record<string, string>
  /** Passed as data (never through a shell). */
  env?: Record<string, string>
  /** Exec form; null or absent keeps the image's CMD. */
  command?: string[] | null
  /** The port the app listens on; published on 127.0.0.1 at a random host port when `publish` is set. */
  port?: number
  publish?: boolean
  network?: string
  memoryBytes?: number
  cpus?: number
  pidsLimit?: number
  healthCheck?: ExecHealthCheck
}

/** What the rollout needs to know of one container, from an inspect. */
export interface ContainerDetails {
  id: string
  name: string
  labels: Record<string, string>
  running: boolean
  /** created | running | restarting | exited | dead | paused */
  status: string
  exitCode: number
  restartCount: number
  oomKilled: boolean
  startedAt: string | undefined
  /** Docker's health (exec checks only). */
  dockerHealth: 'starting' | 'healthy' | 'unhealthy' | undefined
  dockerHealthOutput: string | undefined
  /** Where the controller reaches the app: the published loopback port, else the network address. */
  address: { host: string; port: number } | undefined
  /**
   * The app's own address on its network. A TCP probe must use it: the published port is Docker's
   * proxy, which accepts connections whether or not the app listens.
   */
  networkAddress: { host: string; port: number } | undefined
}

/** An image or network Gilgal made, as listed by its labels. */
export interface ManagedObject {
  id: string
  name: string
  labels: Record<string, string>
  /** Epoch ms. */
  createdAt: number
}

/**
 * What reconcilers may do to the Docker engine; tests fake it here and nowhere else (STYLE.md
 * section 8). Every object it creates carries Gilgal's managed label; it lists nothing else.
 */
export interface Runtime {
  listManaged(filter: { environmentId?: string; projectId?: string }): Promise<ManagedContainer[]>
  inspectContainer(id: string): Promise<ContainerDetails | undefined>
  createContainer(spec: ContainerSpec): Promise<string>
  startContainer(id: string): Promise<void>
  stopContainer(id: string, timeoutSeconds: number): Promise<void>
  removeContainer(id: string): Promise<void>
  /** The last `tail` lines of stdout and stderr. */
  containerLogs(id: string, tail: number): Promise<string[]>
  /** The last `tail` lines, then (with `follow`) new ones as they come, until `signal` aborts. */
  followLogs(
    id: string,
    options: { tail: number; follow: boolean; signal: AbortSignal },
  ): AsyncIterable<RuntimeLogLine>
  /** Creates the network if it does not exist (labelled). */
  ensureNetwork(name: string, labels: Record<string, string>): Promise<void>
  removeNetwork(name: string): Promise<void>
  listManagedNetworks(): Promise<ManagedObject[]>
  listManagedImages(): Promise<ManagedObject[]>
  /** Removes an image unless a container still uses it (then it is kept, quietly). */
  removeImage(id: string): Promise<void>
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
    ...runtime,
    createContainer: guard(runtime.createContainer.bind(runtime)),
    startContainer: guard(runtime.startContainer.bind(runtime)),
    stopContainer: guard(runtime.stopContainer.bind(runtime)),
    removeContainer: guard(runtime.removeContainer.bind(runtime)),
    ensureNetwork: guard(runtime.ensureNetwork.bind(runtime)),
    removeNetwork: guard(runtime.removeNetwork.bind(runtime)),
    removeImage: guard(runtime.removeImage.bind(runtime)),
  }
}
