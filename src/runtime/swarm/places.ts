import type Docker from 'dockerode'
import { engineStatus } from '../errors.js'
import { overlayAddress, type SwarmTask, type TaskPlace } from './tasks.js'

/**
 * How Gilgal (its probes) and Caddy reach the tasks:
 * - `host`: they run as processes on a manager's host, which reaches a task of its own node at the
 *   task's address on docker_gwbridge (an overlay address is not routed on the host). One node only.
 * - `overlay`: they run in containers attached to every project's overlay network
 *   (GILGAL_ATTACH_CONTAINERS) and reach a task on any node at its overlay address.
 */
export type SwarmReach = 'host' | 'overlay'

const GATEWAY_BRIDGE = 'docker_gwbridge'
const NODE_NAMES_TTL_MS = 10_000

/** Finds where a task is reached and the name of the node it runs on. */
export function createTaskPlaces(engine: Docker, reach: SwarmReach) {
  let nodeNames = new Map<string, string>()
  let nodeNamesAt = 0
  const nodeName = async (id: string | undefined): Promise<string | undefined> => {
    if (!id) return undefined
    if (!nodeNames.has(id) || Date.now() - nodeNamesAt > NODE_NAMES_TTL_MS) {
      const nodes = (await engine.listNodes()) as Array<{ ID: string; Description?: { Hostname?: string } }>
      nodeNames = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID]))
      nodeNamesAt = Date.now()
    }
    return nodeNames.get(id) ?? id
  }
  const gatewayAddress = async (task: SwarmTask): Promise<string | undefined> => {
    const containerId = task.Status.ContainerStatus?.ContainerID
    if (!containerId) return undefined
    try {
      const bridge = (await engine.getNetwork(GATEWAY_BRIDGE).inspect()) as {
        Containers?: Record<string, { IPv4Address?: string }>
      }
      return bridge.Containers?.[containerId]?.IPv4Address?.split('/')[0]
    } catch (error) {
      if (engineStatus(error) === 404) return undefined // no task has run on this node yet
      throw error
    }
  }
  return {
    async of(task: SwarmTask | undefined): Promise<TaskPlace> {
      if (!task) return { host: undefined, node: undefined }
      const host = reach === 'overlay' ? overlayAddress(task) : await gatewayAddress(task)
      return { host, node: await nodeName(task.NodeID) }
    },
  }
}
