import assert from 'node:assert/strict'
import { test } from 'node:test'
import { swarmRefusal, type SwarmFacts } from './preflight.js'

const manager: SwarmFacts = { state: 'active', isManager: true, nodeId: 'n1', nodes: 1 }
const plain = { registry: undefined, swarmReach: 'host' as const }

test('one manager node needs nothing more', () => {
  assert.equal(swarmRefusal(manager, plain), undefined)
})

test('an engine outside a swarm, or a worker, is refused with what to do', () => {
  assert.match(swarmRefusal({ ...manager, state: 'inactive' }, plain) ?? '', /docker swarm init/)
  assert.match(
    swarmRefusal({ ...manager, isManager: false }, plain) ?? '',
    /is a worker: point DOCKER_HOST at a manager/,
  )
})

test('more than one node needs a registry, then overlay reach', () => {
  const cluster = { ...manager, nodes: 3 }
  assert.match(swarmRefusal(cluster, plain) ?? '', /cluster of 3 nodes needs GILGAL_REGISTRY/)
  assert.match(
    swarmRefusal(cluster, { ...plain, registry: 'registry:5000' }) ?? '',
    /GILGAL_SWARM_REACH=overlay/,
  )
  assert.equal(swarmRefusal(cluster, { registry: 'registry:5000', swarmReach: 'overlay' }), undefined)
})
