import { createHash } from 'node:crypto'
import type Docker from 'dockerode'
import { DEFAULT_PIDS_LIMIT, healthConfig, KEPT_CAPABILITIES } from '../container-options.js'
import type { ContainerSpec } from '../runtime.js'

/** The port the app listens on, kept on the service: a task's spec publishes nothing to read it from. */
export const PORT_LABEL = 'dev.gilgal.port'

/** Swarm names services as DNS labels: at most 63 characters. */
const MAX_SERVICE_NAME = 63

/**
 * Swarm restarts a task by making a new one, after this pause; it has no backoff of its own, so a
 * crash loop costs one container a second, which the planner reports as CrashLoop after three.
 */
const RESTART_DELAY_NS = 1e9
const STOP_GRACE_NS = 10e9

/**
 * The service name of a replica: the container name it would have on one engine, or, when that is
 * longer than Swarm allows, its start and a hash of the whole, so the name stays deterministic (a
 * retried create is a conflict, not a duplicate) and two long names never meet.
 */
export function serviceName(containerName: string): string {
  if (containerName.length <= MAX_SERVICE_NAME) return containerName
  const hash = createHash('sha256').update(containerName).digest('hex').slice(0, 12)
  return `${containerName.slice(0, MAX_SERVICE_NAME - hash.length - 1).replace(/-+$/, '')}-${hash}`
}

/**
 * The Swarm service of one replica: one task, restarted by Swarm wherever it can run, `dnsrr` (this
 * kernel's IPVS-less hosts cannot serve a VIP, and Caddy routes to task addresses anyway), on the
 * project's overlay network, with the container runtime's hardening and limits, and the labels on
 * the service and on its containers (so a node's container events name the environment).
 */
export function serviceOptions(
  spec: ContainerSpec,
  ownerLabels: Record<string, string>,
): Docker.CreateServiceOptions {
  const labels = { ...spec.labels, ...ownerLabels, ...(spec.port ? { [PORT_LABEL]: String(spec.port) } : {}) }
  return {
    Name: serviceName(spec.name),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.distributableImage ?? spec.image,
        Labels: labels,
        Env: Object.entries(spec.env ?? {}).map(([name, value]) => `${name}=${value}`),
        // Args, not Command: Command would replace the image's ENTRYPOINT, as `docker run` never does.
        ...(spec.command ? { Args: spec.command } : {}),
        ...(spec.user ? { User: spec.user } : {}),
        CapabilityDrop: ['ALL'],
        CapabilityAdd: KEPT_CAPABILITIES,
        StopGracePeriod: STOP_GRACE_NS,
        ...(spec.healthCheck ? { HealthCheck: healthConfig(spec.healthCheck) } : {}),
      },
      Resources: {
        Limits: {
          Pids: spec.pidsLimit ?? DEFAULT_PIDS_LIMIT,
          ...(spec.memoryBytes !== undefined ? { MemoryBytes: spec.memoryBytes } : {}),
          ...(spec.cpus !== undefined ? { NanoCPUs: Math.round(spec.cpus * 1e9) } : {}),
        },
      },
      RestartPolicy: { Condition: 'any', Delay: RESTART_DELAY_NS, MaxAttempts: 0 },
      Placement: { Constraints: spec.placement?.constraints ?? [] },
      ...(spec.network ? { Networks: [{ Target: spec.network }] } : {}),
    } as Docker.ContainerTaskSpec,
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: 'dnsrr' },
  }
}
