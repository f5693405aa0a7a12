import type { ContainerEvent } from './events.js'
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
  /** `uid[:gid]` (never root); absent keeps the image's USER. */
  user?: string
  /** The port the app listens on; published on 127.0.0.1 at a random host port when `publish` is set. */
  port?: number
  publish?: boolean
  network?: string
  memoryBytes?: number
  cpus?: number
  pidsLimit?: number
  healthCheck?: ExecHealthCheck
  /**
   * `repository@sha256:…`, which every node of a cluster can pull (a pushed build, a pulled image);
   * the Swarm runtime runs it rather than `image`, an id only this engine knows.
   */
  distributableImage?: string
  /** Swarm placement constraints (`node.labels.zone==a`); one engine has one place to run. */
  placement?: { constraints: string[] }
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
  /** The cluster node it runs on (Swarm); absent on one engine. */
  node?: string
  /** Why it does not run yet, in the runtime's words (Swarm: `pending: no suitable node …`). */
  waiting?: string
}

/** An image or network Gilgal made, as listed by its labels. */
export interface ManagedObject {
  id: string
  name: string
  labels: Record<string, string>
  /** Epoch ms. */
  createdAt: number
}

/** One image build: a context directory and a Dockerfile given as text (sent beside the context). */
export interface ImageBuild {
  contextDir: string
  /** The Dockerfile's content: the source's own, or a generated one. It is never written into the checkout. */
  dockerfile: string
  tag: string
  /** The image's labels besides the installation's own, which the runtime adds. */
  labels: Record<string, string>
  buildArgs: Record<string, string>
  target: string | null
  memoryBytes?: number
  /** CPU limit in cores. */
  cpus?: number
  /** Paths (relative to the context) never sent to the engine, whatever .dockerignore says. */
  exclude?: string[]
  /**
   * Pull every FROM image from its registry rather than take the engine's copy, which may be an image
   * another project built or pulled (and the engine resolves an id prefix in FROM).
   */
  pull?: boolean
  /** Aborting it cancels the build in the engine. */
  signal?: AbortSignal
}

/** A line of build, pull or push output. */
export interface ProgressLine {
  stream: 'stdout' | 'stderr'
  message: string
}

/** Credentials for one registry, as the engine's API takes them. */
export interface RegistryAuth {
  serveraddress: string
  username: string
  password: string
}

/** What a revision needs to know of an image. */
export interface ImageInfo {
  id: string
  /** The lowest TCP port the image EXPOSEs. */
  exposedPort: number | undefined
  /** The project Gilgal built it for (its `dev.gilgal.project` label), if Gilgal built it. */
  builtFor?: string
  /** `repository@sha256:…` for each registry it was pulled from or pushed to. */
  digests: string[]
}

/**
 * Images: builds fail with BuildError or BuildCancelledError, pulls with ImagePullError, pushes with
 * ImagePushError (runtime/images/), so a caller can tell the user's mistake from a passing outage.
 */
export interface ImageOperations {
  /** The image a reference (a name, or an id Gilgal recorded itself) names on the engine, or undefined. */
  findImage(ref: string): Promise<ImageInfo | undefined>
  /** Resolves with the new image's id; every output line goes to `onLine`. */
  buildImage(build: ImageBuild, onLine: (line: ProgressLine) => void): Promise<string>
  /** Resolves with the pulled image's id. */
  pullImage(
    ref: string,
    auth: RegistryAuth | undefined,
    onLine: (line: ProgressLine) => void,
  ): Promise<string>
  /** Tags `imageId` as `remoteRef` and pushes it; resolves with the pushed manifest's digest. */
  pushImage(
    imageId: string,
    remoteRef: string,
    auth: RegistryAuth | undefined,
    onLine: (line: ProgressLine) => void,
  ): Promise<string | undefined>
  listManagedImages(): Promise<ManagedObject[]>
  /** Removes an image unless a container still uses it (then it is kept, quietly). */
  removeImage(id: string): Promise<void>
  /**
   * Removes this installation's dangling images (a rebuilt tag's previous image, a push's leftovers):
   * untagged, so nothing can run them by name. One a container still uses is kept. Says how many went.
   */
  removeDanglingImages(): Promise<number>
}

/**
 * What reconcilers may do to the Docker engine; tests fake it here and nowhere else. Every object it
 * creates carries Gilgal's managed label and this installation's; it lists nothing else. Reconcilers
 * receive it fenced (runtime/fence.ts): every mutation checks the leadership term first.
 */
export interface Runtime extends ImageOperations {
  listManaged(filter: { environmentId?: string; projectId?: string }): Promise<ManagedContainer[]>
  inspectContainer(id: string): Promise<ContainerDetails | undefined>
  createContainer(spec: ContainerSpec): Promise<string>
  startContainer(id: string): Promise<void>
  stopContainer(id: string, timeoutSeconds: number): Promise<void>
  /** Removes a container of project `projectId` (gone already: done); one its labels do not say is that project's is refused. */
  removeContainer(id: string, projectId: string): Promise<void>
  /** The last `tail` lines of stdout and stderr. */
  containerLogs(id: string, tail: number): Promise<string[]>
  /** The last `tail` lines, then (with `follow`) new ones as they come, until `signal` aborts. */
  followLogs(
    id: string,
    options: { tail: number; follow: boolean; signal: AbortSignal },
  ): AsyncIterable<RuntimeLogLine>
  /** Creates the network if it does not exist (labelled). */
  ensureNetwork(name: string, labels: Record<string, string>): Promise<void>
  /** Removes the network of project `projectId`; a network of that name that is not the project's is left alone. */
  removeNetwork(name: string, projectId: string): Promise<void>
  listManagedNetworks(): Promise<ManagedObject[]>
  /**
   * Connects a container Gilgal does not manage (Caddy's, its own: GILGAL_ATTACH_CONTAINERS) to a
   * project network, so it reaches the apps by their addresses; already connected: done.
   */
  attachToNetwork(network: string, container: string): Promise<void>
  /** The reverse, before the network is removed; not connected (or gone): done. */
  detachFromNetwork(network: string, container: string): Promise<void>
  /**
   * Follows the engine's events for managed containers since `sinceSeconds`. Resolves with a function
   * that closes the stream; `onEnd` fires once when the stream ends or fails for any reason.
   */
  watchContainerEvents(
    sinceSeconds: number,
    onEvent: (event: ContainerEvent) => void,
    onEnd: (error?: Error) => void,
  ): Promise<() => void>
}

/**
 * The methods of Runtime that only read: what a process may use unfenced (the API's runtime logs,
 * the controller's event watch). Every other method changes the engine and is fenced.
 */
export const RUNTIME_READS = [
  'listManaged',
  'inspectContainer',
  'containerLogs',
  'followLogs',
  'listManagedNetworks',
  'watchContainerEvents',
  'findImage',
  'listManagedImages',
] as const satisfies ReadonlyArray<keyof Runtime>

export type RuntimeReads = Pick<Runtime, (typeof RUNTIME_READS)[number]>
