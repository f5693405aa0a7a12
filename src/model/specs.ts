/**
 * What the rows hold: each kind's spec (the API's, from the JSON Schemas) and status (the controller's).
 * Rows are written only through the validated write path, so the store hands these types out as read.
 */
import type { DeploymentPhase, EnvironmentPhase } from './phases.js'
import type {
  Build,
  EnvironmentManifestSpec,
  GitSource,
  HealthCheck,
  Placement,
  ProjectSpec,
  Resources,
} from './spec-types.generated.js'

export type * from './spec-types.generated.js'

/** Values sealed by crypto/secret-box.ts, by name: write-only, opened only where a container starts. */
export type SealedValues = Record<string, string>

/** An Environment's spec as stored: the manifest's, defaults filled in, every secretEnv value sealed. */
export interface EnvironmentSpec extends Omit<EnvironmentManifestSpec, 'secretEnv'> {
  secretEnv?: SealedValues
}

/**
 * A revision's source: the environment's or the project's repository, every git field resolved, and
 * the credentials (password sealed) given with its URL, if any.
 */
export type ResolvedSource =
  { git: Required<Omit<GitSource, 'credentials'>> & Pick<GitSource, 'credentials'> } | { image: string }

/**
 * One revision's snapshot of everything that decides what a container is: the environment's
 * snapshotted fields when it was made (secretEnv sealed, so a rollback restores exactly them).
 */
export interface RevisionSpec {
  source: ResolvedSource
  framework: ProjectSpec['framework']
  build: Build
  env: Record<string, string>
  secretEnv: SealedValues
  port: number | null
  command: string[] | null
  /** `uid[:gid]`, never root; null: the image's USER. */
  user: string | null
  resources: Resources
  healthCheck: HealthCheck
  /** Where its replicas may run on a Swarm; absent in revisions made before it existed (and then: anywhere). */
  placement?: Placement
  /** A rollback of a prebuilt image: the image id that ran, used when the engine still has it. */
  pinnedImageId?: string
  rollbackOf?: { id: string; revision: number }
}

/** The fields of an Environment spec a revision snapshots; the others change in place. */
export const SNAPSHOT_FIELDS = [
  'source',
  'build',
  'env',
  'secretEnv',
  'port',
  'command',
  'user',
  'resources',
  'healthCheck',
  'placement',
] as const satisfies ReadonlyArray<keyof EnvironmentSpec>

export type SnapshotField = (typeof SNAPSHOT_FIELDS)[number]

/** An object's identity in status and events: `{ id, revision }` of a revision. */
export interface RevisionRef {
  id: string
  revision: number
}

export interface ProjectStatus {
  observedGeneration?: number
  /** What detection found in the source, when the project's framework is `auto`. */
  detectedFramework?: string
}

export interface EnvironmentStatus {
  observedGeneration?: number
  phase?: EnvironmentPhase
  /** Why the phase is what it is (`RolledBack`, `CrashLoop`, …). */
  reason?: string
  activeDeployment?: RevisionRef | null
  targetDeployment?: RevisionRef | null
  replicas?: { desired: number; ready: number; updated: number }
  urls?: string[]
  /** `ip:port` of the containers traffic goes to: healthy ones of the serving revision. */
  upstreams?: string[]
  /** `Available`, `Progressing`, `Degraded`, as Kubernetes' Deployments carry them. */
  conditions?: Condition[]
}

/** One container of a revision, in its status. */
export interface ContainerStatus {
  name: string
  id: string
  /** running, restarting or stopped. */
  state: 'running' | 'restarting' | 'stopped'
  /** What the probes say: starting, healthy or unhealthy. */
  health: string
  restarts: number
  /** `ip:port` on the project network. */
  address?: string
  /** The Swarm node it runs on (GILGAL_RUNTIME=swarm). */
  node?: string
  /** Why it does not run yet (a Swarm task no node can take: `pending: no suitable node …`). */
  waiting?: string
  lastProbeError?: string
}

export interface Condition {
  type: 'Available' | 'Progressing' | 'Degraded'
  status: 'True' | 'False'
  reason: string
  message: string
  /** When `status` last flipped (ISO). */
  lastTransitionTime: string
}

/** A revision's status: the controller's record of building and rolling it out. Times are ISO strings. */
export interface DeploymentStatus {
  observedGeneration?: number
  phase?: DeploymentPhase
  /** Set when Failed: BuildFailed, SourceUnavailable, ImageNotFound, HealthCheckFailed, … */
  reason?: string
  message?: string
  queuedAt?: string
  buildStartedAt?: string
  builtAt?: string
  deployStartedAt?: string | null
  readyAt?: string | null
  finishedAt?: string
  /** The resolved git commit. */
  commit?: string
  imageId?: string
  imageTag?: string
  /** The `repository@sha256:…` a prebuilt image was pulled as. */
  imageDigest?: string
  framework?: string
  /** Public env vars (NEXT_PUBLIC_*, …) passed to the build as build args. */
  buildArgsFromEnv?: string[]
  /** An image of the same commit and build inputs was found, so nothing was built. */
  reused?: boolean
  pulled?: boolean
  registryImage?: string
  registryDigest?: string
  /** The lowest port the image EXPOSEs, for a revision without `port`. */
  exposedPort?: number
  /** Its containers as the controller last saw them. */
  containers?: ContainerStatus[]
  /** When routes switched to it; the drain runs from here. */
  switchedAt?: string | null
  /** Restart counts at the switch: a restart during the drain fails the revision. */
  restartsAtSwitch?: Record<string, number> | null
  /** Each container's restart count when it became Active: the bake window counts restarts after. */
  restartsAtReady?: Record<string, number> | null
  /** The revision it replaced: kept stopped through the bake window for a rollback. */
  previousDeployment?: string | null
  /** It failed and the revision before it kept (or went back to) serving. */
  rolledBack?: boolean
  /** The revision whose failure in its bake window brought this one back. */
  rolledBackFrom?: string
}
