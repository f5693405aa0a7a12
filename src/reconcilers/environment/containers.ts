import type { SecretKey } from '../../config/secrets.js'
import { openSecret, secretEnvContext } from '../../crypto/secret-box.js'
import { specDefaults } from '../../manifests/schemas.js'
import type { DeploymentStatus, RevisionSpec, SealedValues } from '../../model/specs.js'
import { MIN_CPUS, MIN_MEMORY_BYTES, type Limits } from '../../model/limits.js'
import { parseMemory } from '../../model/units.js'
import { repositoryOf } from '../../runtime/images/references.js'
import { LABELS } from '../../runtime/labels.js'
import type { ContainerSpec } from '../../runtime/runtime.js'

export const REPLICA_LABEL = 'dev.gilgal.replica'
const RESOURCE_DEFAULTS = specDefaults('Environment').resources
// An image that EXPOSEs nothing, in an environment that names no port, is expected on 8080.
const FALLBACK_PORT = 8080

export interface ContainerContext {
  project: { id: string; name: string }
  environment: { id: string; name: string }
  revision: {
    id: string
    revision: number
    spec: Pick<
      RevisionSpec,
      'env' | 'secretEnv' | 'command' | 'user' | 'port' | 'resources' | 'healthCheck' | 'placement'
    >
    /** A revision is given replicas only once it has its image. */
    status: { imageId: string; exposedPort?: number; distributableImage?: string }
  }
  index: number
  secretKeys: readonly SecretKey[]
  /** GILGAL_MAX_MEMORY and GILGAL_MAX_CPUS, as they are now: a revision made under larger bounds runs within these. */
  bounds: Pick<Limits, 'memoryBytes' | 'cpus'>
  /** `gilgal`, or `gilgal-<instance>` (GILGAL_INSTANCE): installations sharing an engine never collide. */
  namePrefix?: string
  /** Publish the port on loopback (default): what the host reaches when Caddy does not route. */
  publish?: boolean
}

/** The network every container of a project joins. */
export const projectNetwork = (projectName: string, namePrefix = 'gilgal') => `${namePrefix}-${projectName}`

/**
 * The container of replica `index` of a revision: a deterministic name (a retried create is a
 * conflict, not a duplicate), Gilgal's labels, the revision's env with its secrets opened only here,
 * its port published on loopback (unless Caddy routes to it), its limits, and Docker's health check for `exec` probes.
 */
export function containerSpecFor(context: ContainerContext): ContainerSpec {
  const { project, environment, revision, index } = context
  const prefix = context.namePrefix ?? 'gilgal'
  const spec = revision.spec
  const { healthCheck: check } = spec
  // A container never runs unlimited: a row written without them (by hand, or by an older Gilgal)
  // gets the schema's defaults, as validation gives every spec.
  const resources = { ...RESOURCE_DEFAULTS, ...spec.resources }
  const port = portOf(spec, revision.status)
  return {
    // `--` between project and environment: names never hold one, so no two pairs make one name.
    name: `${prefix}-${project.name}--${environment.name}-r${revision.revision}-${index}`,
    image: revision.status.imageId,
    labels: {
      [LABELS.project]: project.id,
      [LABELS.environment]: environment.id,
      [LABELS.deployment]: revision.id,
      [LABELS.revision]: String(revision.revision),
      [REPLICA_LABEL]: String(index),
    },
    env: { ...spec.env, ...openedSecrets(spec.secretEnv, context.secretKeys), PORT: String(port) },
    command: spec.command,
    ...(spec.user ? { user: spec.user } : {}),
    port,
    publish: context.publish ?? true,
    network: projectNetwork(project.name, prefix),
    memoryBytes: clamp(parseMemory(resources.memory), MIN_MEMORY_BYTES, context.bounds.memoryBytes),
    cpus: clamp(resources.cpus, MIN_CPUS, context.bounds.cpus),
    ...(revision.status.distributableImage ? { distributableImage: revision.status.distributableImage } : {}),
    ...(spec.placement?.constraints?.length
      ? { placement: { constraints: spec.placement.constraints } }
      : {}),
    ...(check?.exec
      ? {
          healthCheck: {
            command: check.exec.command,
            intervalMs: check.intervalSeconds * 1000,
            timeoutMs: check.timeoutSeconds * 1000,
            retries: check.failureThreshold,
            startPeriodMs: check.startPeriodSeconds * 1000,
          },
        }
      : {}),
  }
}

/**
 * A limit within the bounds: validation refuses anything else on the way in, but a revision may be
 * older than the bounds (a rollback to it, a lowered GILGAL_MAX_*), and 0 would mean no limit at all.
 */
function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(Number.isFinite(value) ? value : min, min), max)
}

/**
 * The image as every node of a cluster can pull it, by digest: the push to GILGAL_REGISTRY of a build,
 * or the registry a prebuilt image was pulled from. Undefined for an image only this engine has.
 */
export function distributableImageOf(
  status: Pick<DeploymentStatus, 'registryImage' | 'registryDigest' | 'imageDigest'>,
): string | undefined {
  if (status.registryImage && status.registryDigest)
    return `${repositoryOf(status.registryImage)}@${status.registryDigest}`
  return status.imageDigest
}

/** The environment's port, else the one the image EXPOSEs (recorded by the build), else 8080. */
export function portOf(
  spec: Pick<RevisionSpec, 'port'>,
  status: Pick<DeploymentStatus, 'exposedPort'>,
): number {
  return spec.port ?? status.exposedPort ?? FALLBACK_PORT
}

function openedSecrets(sealed: SealedValues = {}, keys: readonly SecretKey[]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(sealed).map(([name, value]) => [name, openSecret(value, keys, secretEnvContext(name))]),
  )
}
