import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createLogger } from '../log.js'
import type { ContainerEvent } from '../runtime/events.js'
import { DockerEventWatcher } from './docker-events.js'

test('a Swarm node event asks for a resync; a container event enqueues its environment', async () => {
  let emit: (event: ContainerEvent) => void = () => undefined
  const calls: string[] = []
  const watcher = new DockerEventWatcher({
    runtime: {
      watchContainerEvents: async (_since, onEvent) => {
        emit = onEvent
        return () => undefined
      },
    },
    log: createLogger('silent'),
    onEnvironment: (id) => calls.push(`environment ${id}`),
    onReconnected: () => calls.push('reconnected'),
    onClusterChange: () => calls.push('cluster changed'),
  })
  await watcher.start()
  emit({ action: 'node', containerId: 'n1', environmentId: undefined, timeNano: 1e9 })
  emit({ action: 'die', containerId: 'c1', environmentId: 'e1', timeNano: 2e9 })
  watcher.stop()
  assert.deepEqual(calls, ['cluster changed', 'environment e1'])
})
