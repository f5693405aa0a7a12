/**
 * A Docker Swarm of several nodes on this one machine, for the multi-node test (npm run test:multinode):
 * each node a Docker-in-Docker container built from the machine's own Docker binaries
 * (build-node-image.sh), on a bridge network of its own, its engine also listening on
 * tcp://0.0.0.0:2375 so the host reaches it at its address there. The host engine's own Swarm state is
 * never touched: the Swarm lives inside the nodes. Everything made carries the label
 * `gilgal-mn=<run id>` and a `gilgal-mn-` name, and removeRun removes it all.
 */
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import Docker from 'dockerode'
import { docker } from '../helpers/docker.js'
import { waitFor } from '../helpers/wait.js'

const exec = promisify(execFile)
const HERE = path.dirname(new URL(import.meta.url).pathname)

export const RUN_LABEL = 'gilgal-mn'
/** The port every node's engine listens on besides its socket (plain HTTP: the network is the test's). */
export const ENGINE_PORT = 2375

export interface NodeNetwork {
  name: string
  subnet: string
  /** The host's address on the network: what the nodes reach the host at (a registry on the host). */
  gateway: string
}

export interface SwarmNode {
  /** The container's name, its hostname and so the Swarm node's name. */
  name: string
  ip: string
  /** Its engine's API, from the host. */
  engine: Docker
}

const runLabels = (runId: string) => ({ [RUN_LABEL]: runId })
export const namesOf = (runId: string) => ({
  network: `gilgal-mn-${runId}`,
  node: (n: number) => `gilgal-mn-${runId}-node${n}`,
  nodeImage: `gilgal-mn-node:${runId}`,
})

/** Runs a command; its failure says which command, with what it printed. */
async function run(command: string, args: string[]): Promise<string> {
  try {
    return (await exec(command, args, { maxBuffer: 64 * 1024 * 1024 })).stdout
  } catch (error) {
    const { stderr, stdout, message } = error as { stderr?: string; stdout?: string; message: string }
    const output = `${stderr ?? ''}${stdout ?? ''}`.trim().slice(-2000)
    throw new Error(`${[command, ...args].join(' ')} failed: ${output || message}`, { cause: error })
  }
}

/** The node image (build-node-image.sh), labelled for the run. */
export async function buildNodeImage(runId: string): Promise<string> {
  const tag = namesOf(runId).nodeImage
  await run('sh', [path.join(HERE, 'build-node-image.sh'), tag, `${RUN_LABEL}=${runId}`])
  return tag
}

/**
 * A FROM-scratch image of the host's Caddy (its binary, the libraries ldd lists and the dynamic
 * loader) that runs `config` (JSON), labelled for the run. Built on the host engine.
 */
export async function buildCaddyImage(runId: string, tag: string, config: unknown): Promise<void> {
  const binary = (await run('sh', ['-c', 'command -v caddy'])).trim()
  if (!binary) throw new Error('the multi-node test needs caddy on PATH (apt-get install caddy)')
  const context = await mkdtemp(path.join(os.tmpdir(), 'gilgal-mn-caddy-'))
  try {
    const libraries = (await run('ldd', [binary]))
      .split('\n')
      .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
      .filter((library): library is string => library !== undefined)
    for (const file of [binary, ...libraries, '/lib64/ld-linux-x86-64.so.2']) {
      await mkdir(path.join(context, 'rootfs', path.dirname(file)), { recursive: true })
      await copyFile(file, path.join(context, 'rootfs', file)) // follows symlinks: the library itself
    }
    for (const dir of ['tmp', 'data', 'config', 'root', 'etc/caddy'])
      await mkdir(path.join(context, 'rootfs', dir), { recursive: true })
    await writeFile(path.join(context, 'rootfs/etc/caddy/config.json'), JSON.stringify(config))
    await writeFile(
      path.join(context, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY rootfs/ /',
        'ENV HOME=/root XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config',
        `ENTRYPOINT ["${binary}", "run", "--config", "/etc/caddy/config.json"]`,
      ].join('\n'),
    )
    await run('docker', ['build', '-q', '--label', `${RUN_LABEL}=${runId}`, '-t', tag, context])
  } finally {
    await rm(context, { recursive: true, force: true })
  }
}

/**
 * The run's bridge network, on the first of a few /24 subnets no other network of the host takes
 * (an overlap is refused by the engine, and the next one is tried).
 */
export async function createNodeNetwork(runId: string): Promise<NodeNetwork> {
  const name = namesOf(runId).network
  const tried: string[] = []
  for (let third = 240; third < 250; third++) {
    const subnet = `172.31.${third}.0/24`
    const gateway = `172.31.${third}.1`
    try {
      await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: runLabels(runId),
        IPAM: { Config: [{ Subnet: subnet, Gateway: gateway }] },
      })
      return { name, subnet, gateway }
    } catch (error) {
      tried.push(`${subnet}: ${(error as Error).message}`)
    }
  }
  throw new Error(`no subnet for the node network ${name}: ${tried.join('; ')}`)
}

/**
 * Starts node `n` on the network: not privileged (this machine cannot grant CAP_SYS_RESOURCE), but with
 * every other capability, unconfined, any device, a private cgroup namespace (see node-entrypoint.sh),
 * its /var/lib/docker on a volume of its own. Resolves once its engine answers on the TCP port.
 */
export async function startNode(
  runId: string,
  network: NodeNetwork,
  n: number,
  options: { insecureRegistries: string[] },
): Promise<SwarmNode> {
  const names = namesOf(runId)
  const name = names.node(n)
  await docker.createVolume({ Name: name, Labels: runLabels(runId) })
  const container = await docker.createContainer({
    name,
    Hostname: name,
    Image: names.nodeImage,
    Labels: runLabels(runId),
    Cmd: [
      '--host',
      `tcp://0.0.0.0:${ENGINE_PORT}`,
      ...options.insecureRegistries.flatMap((registry) => ['--insecure-registry', registry]),
    ],
    HostConfig: {
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      // systempaths=unconfined, as the CLI sends it: nothing masked or read-only under /proc.
      MaskedPaths: [],
      ReadonlyPaths: [],
      DeviceCgroupRules: ['a *:* rwm'],
      CgroupnsMode: 'private',
      NetworkMode: network.name,
      Binds: [`${name}:/var/lib/docker`],
    },
  } as Docker.ContainerCreateOptions)
  await container.start()
  const ip = (await container.inspect()).NetworkSettings.Networks[network.name]?.IPAddress
  if (!ip) throw new Error(`node ${name} has no address on ${network.name}`)
  const engine = new Docker({ host: ip, port: ENGINE_PORT })
  try {
    await waitFor(
      `node ${name}'s engine to answer at ${ip}:${ENGINE_PORT}`,
      async () => {
        if (!(await container.inspect()).State.Running) throw new Error(`node ${name} exited`)
        return (await engine.ping()) ? true : undefined
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    )
  } catch (error) {
    const logs = (await container.logs({ stdout: true, stderr: true, tail: 20 })).toString()
    throw new Error(`${(error as Error).message}; its last output: ${logs}`, { cause: error })
  }
  return { name, ip, engine }
}

/**
 * Makes the first node a Swarm manager (advertising its address on the node network) and joins the
 * others as workers; resolves once the manager lists every node Ready.
 */
export async function initSwarm(manager: SwarmNode, workers: SwarmNode[]): Promise<void> {
  await manager.engine.swarmInit({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: manager.ip })
  const swarm = (await manager.engine.swarmInspect()) as { JoinTokens: { Worker: string } }
  for (const worker of workers)
    await worker.engine.swarmJoin({
      ListenAddr: '0.0.0.0:2377',
      AdvertiseAddr: worker.ip,
      RemoteAddrs: [`${manager.ip}:2377`],
      JoinToken: swarm.JoinTokens.Worker,
    })
  await waitFor(
    `${workers.length + 1} Ready Swarm nodes`,
    async () => {
      const nodes = (await manager.engine.listNodes()) as Array<{ Status: { State: string } }>
      return nodes.length === workers.length + 1 && nodes.every((n) => n.Status.State === 'ready')
        ? true
        : undefined
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  )
}

/** Copies an image of the host engine into a node's (docker save | docker exec -i NODE docker load). */
export async function loadImage(image: string, node: SwarmNode): Promise<void> {
  await run('bash', [
    '-o',
    'pipefail',
    '-c',
    'docker save "$1" | docker exec -i "$2" docker load',
    '-',
    image,
    node.name,
  ])
}

/** Kills the node's container: its dockerd and every task on it die at once, as with a lost machine. */
export async function killNode(node: SwarmNode): Promise<void> {
  await docker.getContainer(node.name).kill()
}

/** Sets a node's availability (`drain` moves its tasks elsewhere; plain containers stay), by hostname. */
export async function setAvailability(
  manager: SwarmNode,
  hostname: string,
  availability: 'active' | 'drain',
): Promise<void> {
  const nodes = (await manager.engine.listNodes()) as Array<{
    ID: string
    Version: { Index: number }
    Spec: Record<string, unknown>
    Description?: { Hostname?: string }
  }>
  const node = nodes.find((n) => n.Description?.Hostname === hostname)
  if (!node) throw new Error(`no Swarm node ${hostname}`)
  await manager.engine
    .getNode(node.ID)
    .update({ ...node.Spec, Availability: availability, version: node.Version.Index })
}

/** What Swarm says of the world's tasks: for the failure messages. */
export async function describeTasks(manager: SwarmNode, instance: string): Promise<string> {
  const engine = manager.engine
  const filters = { label: [`dev.gilgal.instance=${instance}`] }
  const services = (await engine.listServices({ filters })) as Array<{ ID: string; Spec: { Name: string } }>
  if (services.length === 0) return 'no service'
  const nodes = (await engine.listNodes()) as Array<{ ID: string; Description?: { Hostname?: string } }>
  const nodeName = (id?: string) => nodes.find((n) => n.ID === id)?.Description?.Hostname ?? id
  const tasks = (await engine.listTasks({ filters: { service: services.map((s) => s.ID) } })) as Array<{
    ServiceID: string
    NodeID?: string
    DesiredState: string
    Status: { State: string; Err?: string }
  }>
  return tasks
    .map((t) => {
      const service = services.find((s) => s.ID === t.ServiceID)?.Spec.Name
      const err = t.Status.Err ? ` (${t.Status.Err})` : ''
      return `${service} on ${nodeName(t.NodeID)}: ${t.Status.State}${err}, desired ${t.DesiredState}`
    })
    .join('; ')
}

/** The Swarm node names the manager lists Down. */
export async function downNodes(manager: SwarmNode): Promise<string[]> {
  const nodes = (await manager.engine.listNodes()) as Array<{
    Description?: { Hostname?: string }
    Status: { State: string }
  }>
  return nodes.filter((n) => n.Status.State === 'down').map((n) => n.Description?.Hostname ?? '')
}

/** Removes everything labelled for the run on the host engine: nodes, their volumes, the network, images. */
export async function removeRun(runId: string): Promise<void> {
  const filters = { label: [`${RUN_LABEL}=${runId}`] }
  for (const info of await docker.listContainers({ all: true, filters }))
    await docker.getContainer(info.Id).remove({ force: true, v: true })
  for (const volume of (await docker.listVolumes({ filters })).Volumes ?? [])
    await docker.getVolume(volume.Name).remove()
  for (const network of await docker.listNetworks({ filters })) await docker.getNetwork(network.Id).remove()
  for (const image of await docker.listImages({ filters }))
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404) throw error // a parent removed with its child
      })
}
