import { spawnSync } from 'node:child_process'
import { createDockerClient } from '../../src/runtime/docker.js'
import { fencedRuntime, type FencedRuntime } from '../../src/runtime/fence.js'
import { ownership } from '../../src/runtime/labels.js'
import { readSwarmFacts } from '../../src/runtime/swarm/preflight.js'
import { createSwarmRuntime } from '../../src/runtime/swarm/swarm-runtime.js'
import { alwaysCurrent } from '../doubles/fence.js'
import { testEnv } from './db.js'
import { docker } from './docker.js'

/**
 * The Swarm tests (test/swarm/) need this engine to be a Swarm manager: `npm test` makes it one for
 * the run (and leaves the Swarm after, unless it already was one). They fail, never skip, without it.
 */
export async function assertSwarmManager(): Promise<void> {
  const facts = await readSwarmFacts(docker)
  if (facts.state !== 'active' || !facts.isManager)
    throw new Error(
      `the Swarm tests need this engine to be a Swarm manager (state: ${facts.state}); npm test makes it one, or run docker swarm init --advertise-addr 127.0.0.1`,
    )
}

/** Makes the engine a one-node Swarm unless it is in one; says whether it did, so it can be left after. */
export async function ensureSwarm(): Promise<boolean> {
  if ((await readSwarmFacts(docker)).state === 'active') return false
  run(['swarm', 'init', '--advertise-addr', '127.0.0.1'])
  return true
}

export function leaveSwarm(): void {
  run(['swarm', 'leave', '--force'])
}

function run(args: string[]): void {
  const result = spawnSync('docker', args, { encoding: 'utf8' })
  if (result.status !== 0)
    throw new Error(`docker ${args.join(' ')} failed: ${result.stderr || result.error}`)
}

/** The instance a test world with this prefix runs as (test/helpers/builds.ts names it so). */
export const worldInstance = (prefix: string) => `t-${testEnv().runId}-${prefix}`

/** A Swarm runtime for a test world: host reach, as on a one-node Swarm; fenced by a term that never ends. */
export function swarmRuntimeFor(prefix: string): FencedRuntime {
  const engine = createDockerClient(process.env.DOCKER_HOST)
  const runtime = createSwarmRuntime(engine, ownership(worldInstance(prefix)), {
    reach: 'host',
    constraints: [],
  })
  return fencedRuntime(runtime, alwaysCurrent)
}

/** Every service, container and network labelled with the instance (what the test must leave behind: nothing). */
export async function labelledObjects(instance: string): Promise<string[]> {
  const filters = { label: [`dev.gilgal.instance=${instance}`] }
  const services = (await docker.listServices({ filters })) as Array<{ Spec: { Name: string } }>
  const containers = await docker.listContainers({ all: true, filters })
  const networks = await docker.listNetworks({ filters })
  return [
    ...services.map((s) => `service ${s.Spec.Name}`),
    ...containers.map((c) => `container ${c.Names[0]}`),
    ...networks.map((n) => `network ${n.Name}`),
  ]
}

/** Removes what a test left behind (after a failure): services first, which take their tasks along. */
export async function removeSwarmObjects(instance: string): Promise<void> {
  const filters = { label: [`dev.gilgal.instance=${instance}`] }
  for (const service of (await docker.listServices({ filters })) as Array<{ ID: string }>)
    await docker.getService(service.ID).remove()
}
