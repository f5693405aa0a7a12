import type Docker from 'dockerode'
import type { Config } from '../config/index.js'
import { createDockerRuntime } from './docker-runtime.js'
import { ownership } from './labels.js'
import type { Runtime } from './runtime.js'
import { assertSwarmUsable } from './swarm/preflight.js'
import { createSwarmRuntime } from './swarm/swarm-runtime.js'

/**
 * The runtime GILGAL_RUNTIME names. A Swarm is checked first (a manager; a registry and overlay reach
 * on more than one node), and with `host` reach every task is kept on this node, the only one whose
 * tasks the host reaches, whatever joins the cluster later.
 */
export async function createRuntime(
  config: Pick<Config, 'runtime' | 'instance' | 'registry' | 'swarmReach'>,
  engine: Docker,
): Promise<Runtime> {
  const owner = ownership(config.instance)
  if (config.runtime === 'docker') return createDockerRuntime(engine, owner)
  const facts = await assertSwarmUsable(engine, config)
  return createSwarmRuntime(engine, owner, {
    reach: config.swarmReach,
    constraints: config.swarmReach === 'host' ? [`node.id==${facts.nodeId}`] : [],
  })
}
