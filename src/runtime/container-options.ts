import type Docker from 'dockerode'
import type { ContainerDetails, ContainerSpec, ExecHealthCheck } from './runtime.js'

export const DEFAULT_PIDS_LIMIT = 512

/**
 * The capabilities an app keeps; every other one is dropped. Enough for an image that starts as root
 * and steps down to its own user (chown its directories, switch uid and gid, bind ports below 1024,
 * signal its workers). Gone, among others: NET_RAW (forged packets on the shared network), MKNOD,
 * SYS_CHROOT, SETPCAP, SETFCAP, AUDIT_WRITE.
 */
export const KEPT_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'SETGID',
  'SETUID',
  'NET_BIND_SERVICE',
  'KILL',
]

/**
 * The engine's create options for a container spec: hardened (no-new-privileges, no privileged
 * mode, all capabilities but a few dropped, a PID limit), limited, labelled, and restarted by the engine after a
 * crash or a daemon restart (`unless-stopped`), so apps keep running while the controller is down.
 */
export function containerOptions(
  spec: ContainerSpec,
  ownerLabels: Record<string, string>,
): Docker.ContainerCreateOptions {
  const port = spec.port ? `${spec.port}/tcp` : undefined
  return {
    name: spec.name,
    Image: spec.image,
    Labels: { ...spec.labels, ...ownerLabels },
    Env: Object.entries(spec.env ?? {}).map(([name, value]) => `${name}=${value}`),
    ...(spec.command ? { Cmd: spec.command } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    ...(port ? { ExposedPorts: { [port]: {} } } : {}),
    ...(spec.healthCheck ? { Healthcheck: healthConfig(spec.healthCheck) } : {}),
    HostConfig: {
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: KEPT_CAPABILITIES,
      PidsLimit: spec.pidsLimit ?? DEFAULT_PIDS_LIMIT,
      RestartPolicy: { Name: 'unless-stopped' },
      ...(spec.memoryBytes !== undefined ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes } : {}),
      ...(spec.cpus !== undefined ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}),
      ...(spec.network ? { NetworkMode: spec.network } : {}),
      ...(port && spec.publish ? { PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] } } : {}),
    },
  }
}

/** Docker's health check config (durations in nanoseconds), for a container or a Swarm service. */
export function healthConfig(check: ExecHealthCheck): Docker.HealthConfig {
  return {
    Test: ['CMD', ...check.command],
    Interval: check.intervalMs * 1e6,
    Timeout: check.timeoutMs * 1e6,
    Retries: check.retries,
    StartPeriod: check.startPeriodMs * 1e6,
  }
}

/** The parts of an inspect the rollout reads. */
export function describeContainer(info: Docker.ContainerInspectInfo): ContainerDetails {
  const state = info.State as Docker.ContainerInspectInfo['State'] & {
    Health?: { Status: string; Log?: Array<{ Output: string }> }
  }
  const health = state.Health
  const networkAddress = networkAddressOf(info)
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    labels: info.Config.Labels ?? {},
    running: state.Running,
    status: state.Status,
    exitCode: state.ExitCode,
    restartCount: info.RestartCount,
    oomKilled: state.OOMKilled,
    startedAt: state.StartedAt && !state.StartedAt.startsWith('0001') ? state.StartedAt : undefined,
    dockerHealth: health ? (health.Status as ContainerDetails['dockerHealth']) : undefined,
    dockerHealthOutput: health?.Log?.at(-1)?.Output.trim(),
    address: addressOf(info, networkAddress),
    networkAddress,
  }
}

/** The app's own address on its network: the container's IP and the port it exposes. */
function networkAddressOf(info: Docker.ContainerInspectInfo): ContainerDetails['networkAddress'] {
  const ip = Object.values(info.NetworkSettings.Networks ?? {}).find(
    (network) => network.IPAddress,
  )?.IPAddress
  const port = Object.keys(info.Config.ExposedPorts ?? {}).find((p) => p.endsWith('/tcp'))
  return ip && port ? { host: ip, port: Number.parseInt(port, 10) } : undefined
}

/** The published loopback port, else the network address. */
function addressOf(
  info: Docker.ContainerInspectInfo,
  networkAddress: ContainerDetails['networkAddress'],
): ContainerDetails['address'] {
  for (const bindings of Object.values(info.NetworkSettings.Ports ?? {})) {
    const hostPort = bindings?.[0]?.HostPort
    if (hostPort) return { host: '127.0.0.1', port: Number(hostPort) }
  }
  return networkAddress
}
