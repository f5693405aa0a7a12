/**
 * Gilgal on a real two-node Docker Swarm (npm run test:multinode; never part of npm test: it takes
 * minutes, and its nodes need more capabilities than CI's containers have). The nodes are
 * Docker-in-Docker containers of this machine (nodes.ts); the controller runs here, on the host, and
 * drives node 1, the manager, over its engine's TCP port, with overlay reach: Caddy runs in a container
 * on node 1 that Gilgal itself connects to the project's overlay network, and reaches each replica at
 * its overlay address on whichever node it runs. The image comes from a registry on the host, and
 * services name it by digest, so node 2 pulls it too. Replicas use an exec health check: the
 * controller cannot reach an overlay address, and Swarm reports a task's health itself.
 *
 * The proof: the first deploy serves through Caddy from the cluster; node 1 drained, every replica runs
 * on node 2; node 2 dies, and the environment serves from node 1 alone within 90 s, through Caddy.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Routing } from '../../src/reconcilers/environment/routing.js'
import { projectNetwork } from '../../src/reconcilers/environment/containers.js'
import { createProjectReconciler } from '../../src/reconcilers/project.js'
import { RouteSync } from '../../src/reconcilers/routes/sync.js'
import { createCaddyAdmin } from '../../src/runtime/caddy.js'
import { fencedRuntime } from '../../src/runtime/fence.js'
import { LABELS, ownership } from '../../src/runtime/labels.js'
import { createSwarmRuntime } from '../../src/runtime/swarm/swarm-runtime.js'
import { alwaysCurrent } from '../doubles/fence.js'
import { reconcileContext } from '../doubles/reconcile-context.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, removeTestObjects } from '../helpers/docker.js'
import { createRolloutWorld, FAST_ROLLOUT, type RolloutWorld } from '../helpers/rollouts.js'
import { worldInstance } from '../helpers/swarm.js'
import { get, sendTraffic } from '../helpers/traffic.js'
import { waitFor } from '../helpers/wait.js'
import {
  buildCaddyImage,
  buildNodeImage,
  createNodeNetwork,
  downNodes,
  initSwarm,
  killNode,
  loadImage,
  removeRun,
  RUN_LABEL,
  describeTasks,
  setAvailability,
  startNode,
  type SwarmNode,
} from './nodes.js'
import { startRegistry, type TestRegistry } from '../helpers/registry.js'
import { forward, freePortOn, push, runCaddy } from './infra.js'

const { runId } = testEnv()
const PREFIX = 'mn'
const CADDY = 'gilgal-mn-caddy'
const CADDY_IMAGE = `gilgal-mn-caddy:${runId}`
const CADDY_ADMIN_PORT = 2019
const CADDY_HTTP_PORT = 80
const BODY = 'multinode v1\n'
/**
 * Docker runs it in the task, and Swarm reports the result: busybox wget with no -T (busybox's -T
 * segfaults here). A start period, since the controller counts Docker's "starting" (no result yet) as
 * a failed probe, and a Swarm task's first result reaches the manager a second or two after it runs.
 */
const EXEC_HEALTH = {
  exec: { command: ['/bin/busybox', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'] },
  intervalSeconds: 1,
  timeoutSeconds: 1,
  healthyThreshold: 1,
  failureThreshold: 3,
  startPeriodSeconds: 10,
}

let node1: SwarmNode | undefined
let node2: SwarmNode | undefined
let registry: TestRegistry | undefined
let forwarder: { port: number; close(): Promise<void> } | undefined
let world: RolloutWorld | undefined
let routing: Routing
let appImage: string
let pushedDigest: string
let host: string

/** Every step that could not be done fails the test, saying which. */
async function step<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw new Error(`multi-node setup: could not ${what}: ${(error as Error).message}`, { cause: error })
  }
}

before(async () => {
  await step('build the node image from the host binaries', () => buildNodeImage(runId))
  const network = await step('create the node network', () => createNodeNetwork(runId))
  const registryPort = await freePortOn(network.gateway)
  registry = await step('start a registry on the node network', () =>
    startRegistry({}, { address: `${network.gateway}:${registryPort}` }),
  )
  // The host engine pushes over plain HTTP to loopback only (its insecure registries): a forwarder
  // there hands its connections to the registry, which the nodes reach at the gateway address.
  forwarder = await step('forward a loopback port to the registry', () =>
    forward(network.gateway, registryPort),
  )
  const insecureRegistries = [registry.host]
  node1 = await step('start node 1', () => startNode(runId, network, 1, { insecureRegistries }))
  node2 = await step('start node 2', () => startNode(runId, network, 2, { insecureRegistries }))
  await step('make node 1 a Swarm manager and join node 2 as a worker', () => initSwarm(node1!, [node2!]))
  console.log(`# nodes: ${node1.name} ${node1.ip} (manager), ${node2.name} ${node2.ip}`)

  const pushed = `127.0.0.1:${forwarder.port}/gilgal-mn/app:v1`
  appImage = `${registry.host}/gilgal-mn/app:v1`
  await step('build the app image', () => buildBusyboxImage(pushed, BODY, { [RUN_LABEL]: runId }))
  pushedDigest = await step(`push ${pushed}`, () => push(pushed))

  const caddyConfig = {
    admin: { listen: `0.0.0.0:${CADDY_ADMIN_PORT}`, origins: [`${node1.ip}:${CADDY_ADMIN_PORT}`] },
  }
  await step('build the Caddy image', () => buildCaddyImage(runId, CADDY_IMAGE, caddyConfig))
  await step('load the Caddy image into node 1', () => loadImage(CADDY_IMAGE, node1!))
  const adminUrl = `http://${node1.ip}:${CADDY_ADMIN_PORT}`
  const admin = createCaddyAdmin(adminUrl)
  await step('run Caddy on node 1', async () => {
    await runCaddy(node1!.engine, {
      name: CADDY,
      image: CADDY_IMAGE,
      labels: { [RUN_LABEL]: runId },
      adminPort: CADDY_ADMIN_PORT,
      httpPort: CADDY_HTTP_PORT,
    })
    await waitFor(
      `Caddy's admin API at ${adminUrl}`,
      async () => ((await admin.readConfig()) ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    )
  })

  // The controller drives node 1's engine (new Docker({ host: node1.ip, port: 2375 })) from the host.
  const runtime = fencedRuntime(
    createSwarmRuntime(node1.engine, ownership(worldInstance(PREFIX)), { reach: 'overlay', constraints: [] }),
    alwaysCurrent,
  )
  world = await step('create the rollout world', () => createRolloutWorld(PREFIX, { replicas: 2 }, runtime))
  const options = { baseDomain: 'localhost', httpPort: CADDY_HTTP_PORT, httpsPort: 443, tls: 'off' as const }
  const routes = new RouteSync({ pool: world.db.pool, caddy: admin, fence: alwaysCurrent, options })
  routing = {
    pool: world.db.pool,
    routes,
    reserved: { baseDomain: 'localhost', apiHost: undefined },
    ports: { http: CADDY_HTTP_PORT, https: 443, tls: 'off' },
  }
  host = `production--${world.projectName}.localhost`
  // Gilgal makes the project's overlay network and connects Caddy to it (GILGAL_ATTACH_CONTAINERS).
  await step("reconcile the project (its network, Caddy's attachment)", async () => {
    const projects = createProjectReconciler({ pool: world!.db.pool, runtime, attachContainers: [CADDY] })
    await projects.reconcile(
      { kind: 'Project', id: world!.projectId },
      new AbortController().signal,
      reconcileContext(),
    )
  })
})

after(async () => {
  const undone: string[] = []
  const attempt = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work()
    } catch (error) {
      undone.push(`${what}: ${(error as Error).message}`)
    }
  }
  const engine = node1?.engine
  if (engine) {
    await attempt('remove Caddy', () => engine.getContainer(CADDY).remove({ force: true }))
    await attempt('remove the services', async () => {
      const filters = { label: [`dev.gilgal.instance=${worldInstance(PREFIX)}`] }
      for (const service of (await engine.listServices({ filters })) as Array<{ ID: string }>)
        await engine.getService(service.ID).remove()
    })
  }
  if (world) {
    const closing = world
    // Swarm lets the overlay network go once the removed services' tasks are gone.
    await attempt('close the world', () =>
      waitFor(
        'the world to close',
        async () => {
          await closing.close()
          return true
        },
        { timeoutMs: 30_000, intervalMs: 1000 },
      ).catch(async (error: Error) => {
        await closing.db.drop().catch(() => undefined) // the database at least
        throw error
      }),
    )
  }
  await attempt('remove the nodes, their volumes, the network and the images', () => removeRun(runId))
  await attempt('stop the registry', async () => registry?.stop())
  await attempt('close the forwarder', async () => forwarder?.close())
  await attempt('remove the test images', () => removeTestObjects())
  if (undone.length > 0) throw new Error(`multi-node cleanup left work undone: ${undone.join('; ')}`)
})

interface ReplicaStatus {
  node?: string
  address?: string
  restarts?: number
}

const activeDeployment = async () =>
  ((await world!.environmentStatus()).activeDeployment as { id: string } | undefined)?.id

/**
 * The nodes the active revision's replicas run on, once the environment is Available with 2 ready and
 * Caddy answers; until then it throws what it saw, which waitFor reports if it never comes.
 */
async function servingFrom(): Promise<string[]> {
  const status = await world!.environmentStatus()
  const ready = (status.replicas as { ready: number } | undefined)?.ready
  const id = await activeDeployment()
  if (status.phase !== 'Available' || ready !== 2 || !id)
    throw new Error(
      `the environment is ${status.phase} with ${ready} ready (active revision: ${id}; its message: ${status.message}); tasks: ${await describeTasks(node1!, worldInstance(PREFIX))}`,
    )
  const answer = await get(CADDY_HTTP_PORT, host, { address: node1!.ip })
  if (answer.status !== 200 || answer.body !== BODY)
    throw new Error(`Caddy answers ${answer.status} ${JSON.stringify(answer.body.slice(0, 100))}`)
  const containers = (await world!.statusOf(id)).containers as ReplicaStatus[]
  return containers.map((c) => c.node ?? '?').sort()
}

/** The replicas' nodes once every one runs on `name`, serving; until then it throws what it saw. */
const onlyOn = (name: string) => async () => {
  const nodes = await servingFrom()
  if (!nodes.every((n) => n === name)) throw new Error(`replicas on ${nodes.join(', ')}`)
  return nodes
}

/** Why the revision failed (what its status says, and its log's end), or undefined while it has not. */
async function revisionFailure(id: string): Promise<string | undefined> {
  const status = await world!.statusOf(id)
  if (status.phase !== 'Failed') return undefined
  const log = (await world!.logsOf(id)).slice(-15).join(' | ')
  return `the revision failed: ${JSON.stringify(status)}; its log: ${log}`
}

/** A wait that, if it fails, also says the reconciles that threw meanwhile. */
async function sayingErrors<T>(driver: { errors: Error[] }, waiting: Promise<T>): Promise<T> {
  try {
    return await waiting
  } catch (error) {
    const errors = driver.errors.slice(-3).map((e) => e.message)
    throw new Error(`${(error as Error).message}; reconcile errors: ${errors.join(' | ') || 'none'}`, {
      cause: error,
    })
  }
}

test('a first deploy from the registry, by digest on whatever node Swarm picks, is served by Caddy on node 1', async () => {
  const caddy = await node1!.engine.getContainer(CADDY).inspect()
  const networks = Object.keys(caddy.NetworkSettings.Networks)
  assert.ok(networks.includes(projectNetwork(world!.projectName)), `Caddy is on ${networks.join(', ')}`)

  const driver = world!.drive({ routing })
  try {
    const appliedAt = performance.now()
    const id = await world!.deploy(appImage, { healthCheck: EXEC_HEALTH })
    const status = await world!.statusOf(id)
    const failed = await revisionFailure(id)
    if (failed) assert.fail(failed)
    assert.equal(
      status.imageDigest,
      `${registry!.host}/gilgal-mn/app@${pushedDigest}`,
      JSON.stringify(status),
    )
    const outcome = await sayingErrors(
      driver,
      waitFor(
        'the environment Available with 2 ready, answering through Caddy',
        async () => {
          const failure = await revisionFailure(id)
          return failure ? { failure } : { nodes: await servingFrom() }
        },
        {
          timeoutMs: 120_000,
          intervalMs: 250,
        },
      ),
    )
    if ('failure' in outcome) assert.fail(outcome.failure)
    const { nodes } = outcome
    console.log(
      `# apply -> first 200 through Caddy on 2 nodes: ${Math.round(performance.now() - appliedAt)} ms`,
    )
    const replicas = (await world!.statusOf(id)).containers as ReplicaStatus[]
    console.log(`# replicas on: ${replicas.map((r) => `${r.node} (${r.restarts} restarts)`).join(', ')}`)
    // Where Swarm puts each one-task service is its scheduler's choice (fewest tasks first): reported,
    // not asserted. The next test moves them where the failover needs them.
    assert.ok(
      nodes.every((n) => [node1!.name, node2!.name].includes(n)),
      nodes.join(', '),
    )
    const services = (await node1!.engine.listServices({
      filters: { label: [`${LABELS.deployment}=${id}`] },
    })) as Array<{ Spec: { TaskTemplate: { ContainerSpec: { Image: string } } } }>
    assert.deepEqual(
      services.map((s) => s.Spec.TaskTemplate.ContainerSpec.Image),
      [0, 1].map(() => `${registry!.host}/gilgal-mn/app@${pushedDigest}`),
    )
    assert.deepEqual(driver.errors, [])
  } finally {
    await driver.stop()
  }
})

test('node 1 drained, every replica moves to node 2; node 2 dies, and within 90 s they run on node 1, served through Caddy', async () => {
  const driver = world!.drive({ routing })
  const traffic = sendTraffic(CADDY_HTTP_PORT, host, 100, 5, node1!.ip)
  try {
    // Node 1 drained: Swarm moves its replicas to node 2 (Caddy, a plain container, stays), so the
    // kill below takes every replica down with it; then node 1 takes tasks again.
    await setAvailability(node1!, node1!.name, 'drain')
    assert.deepEqual(
      await sayingErrors(
        driver,
        waitFor('every replica on node 2', onlyOn(node2!.name), { timeoutMs: 60_000, intervalMs: 250 }),
      ),
      [node2!.name, node2!.name],
    )
    await setAvailability(node1!, node1!.name, 'active')
    // Past its bake window (monitorSeconds), or losing a replica would roll the revision back instead.
    const id = (await activeDeployment())!
    const readyAt = Date.parse((await world!.statusOf(id)).readyAt as string)
    await waitFor('the bake window to end', async () =>
      Date.now() > readyAt + FAST_ROLLOUT.monitorSeconds * 1000 + 500 ? true : undefined,
    )
    await waitFor('the traffic client to be answered', async () =>
      (traffic.report.answers.get(BODY) ?? 0) >= 20 ? true : undefined,
    )
    const before = { ...traffic.report, answers: new Map(traffic.report.answers) }

    const killedAt = performance.now()
    await killNode(node2!)
    const down = waitFor(
      'the manager to mark node 2 Down',
      async () => ((await downNodes(node1!)).includes(node2!.name) ? performance.now() : undefined),
      { timeoutMs: 90_000, intervalMs: 250 },
    )
    down.catch(() => undefined) // awaited below, once the environment is served from node 1
    const onNode1 = await sayingErrors(
      driver,
      waitFor(
        'every replica on node 1, Available with 2 ready, and Caddy answering',
        async () => {
          await onlyOn(node1!.name)()
          return performance.now()
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      ),
    )
    const downAt = await down
    const report = await traffic.stop()
    const failures = report.failures - before.failures
    console.log(`# node 2 killed -> marked Down by the manager: ${Math.round(downAt - killedAt)} ms`)
    console.log(`# node 2 killed -> serving from node 1 only: ${Math.round(onNode1 - killedAt)} ms`)
    console.log(
      `# traffic during the failover: ${report.requests - before.requests} requests, ${failures} failed` +
        (report.failureSamples.length > 0 ? ` (e.g. ${report.failureSamples.join('; ')})` : ''),
    )
    assert.deepEqual(await get(CADDY_HTTP_PORT, host, { address: node1!.ip }), { status: 200, body: BODY })
    assert.ok(
      (report.answers.get(BODY) ?? 0) > (before.answers.get(BODY) ?? 0),
      'the app answered after the kill',
    )
    assert.equal((await activeDeployment()) ?? '', id, 'the same revision, not a rollback')
  } finally {
    await traffic.stop()
    await driver.stop()
  }
})
