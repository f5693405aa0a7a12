import type Docker from 'dockerode'
import { ConfigError } from '../../errors.js'
import { docker } from '../errors.js'
import type { SwarmReach } from './places.js'

/** What the engine says of the Swarm it belongs to. */
export interface SwarmFacts {
  /** inactive | pending | active | locked | error */
  state: string
  isManager: boolean
  nodeId: string
  nodes: number
}

export async function readSwarmFacts(engine: Docker): Promise<SwarmFacts> {
  return docker('read the swarm', async () => {
    const info = (await engine.info()) as {
      Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string; Nodes?: number }
    }
    return {
      state: info.Swarm?.LocalNodeState ?? 'inactive',
      isManager: info.Swarm?.ControlAvailable === true,
      nodeId: info.Swarm?.NodeID ?? '',
      nodes: info.Swarm?.Nodes ?? 0,
    }
  })
}

/**
 * Why Gilgal must not start on this Swarm, or undefined. It needs a manager (only managers create
 * services and list every node's tasks); on more than one node, a registry (another node cannot run an
 * image built here: it pulls by digest) and overlay reach (a manager's host reaches only its own tasks).
 */
export function swarmRefusal(
  facts: SwarmFacts,
  config: { registry: string | undefined; swarmReach: SwarmReach },
): string | undefined {
  if (facts.state !== 'active')
    return `GILGAL_RUNTIME=swarm needs a Docker Swarm, and this engine is not in one (its swarm state: ${facts.state}); run docker swarm init, or join one as a manager`
  if (!facts.isManager)
    return 'GILGAL_RUNTIME=swarm needs a Swarm manager, and this engine is a worker: point DOCKER_HOST at a manager'
  if (facts.nodes <= 1) return undefined
  if (!config.registry)
    return `GILGAL_RUNTIME=swarm on a cluster of ${facts.nodes} nodes needs GILGAL_REGISTRY: the other nodes cannot fetch images built on this one`
  if (config.swarmReach === 'host')
    return `GILGAL_SWARM_REACH=host reaches only this node's tasks, and the cluster has ${facts.nodes} nodes: run Gilgal and Caddy in containers attached to the project networks (GILGAL_ATTACH_CONTAINERS) with GILGAL_SWARM_REACH=overlay`
  return undefined
}

/** Reads the Swarm and throws ConfigError (one line, as for a bad variable) when Gilgal must not start. */
export async function assertSwarmUsable(
  engine: Docker,
  config: { registry: string | undefined; swarmReach: SwarmReach },
): Promise<SwarmFacts> {
  const facts = await readSwarmFacts(engine)
  const refusal = swarmRefusal(facts, config)
  if (refusal) throw new ConfigError(refusal)
  return facts
}
