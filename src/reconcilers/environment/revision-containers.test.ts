import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ObservedContainer } from './model.js'
import { containerChanges } from './revision-containers.js'

const container = (id: string, overrides: Partial<ObservedContainer> = {}): ObservedContainer => ({
  id,
  name: `app-${id}`,
  deploymentId: 'r1',
  index: 0,
  running: true,
  restarting: false,
  restartCount: 0,
  startedAt: undefined,
  exitCode: 0,
  verdict: 'healthy',
  lastProbeError: undefined,
  url: undefined,
  upstream: '10.0.0.2:8080',
  ...overrides,
})

test("a revision's containers are written when they change, and only then", () => {
  const running = [
    container('a'),
    container('b', { index: 1, verdict: 'unhealthy', lastProbeError: 'GET / answered 500' }),
  ]
  const first = containerChanges([{ id: 'r1', status: {} }], running)
  assert.deepEqual(first.get('r1'), [
    { name: 'app-a', id: 'a', state: 'running', health: 'healthy', restarts: 0, address: '10.0.0.2:8080' },
    {
      name: 'app-b',
      id: 'b',
      state: 'running',
      health: 'unhealthy',
      restarts: 0,
      address: '10.0.0.2:8080',
      lastProbeError: 'GET / answered 500',
    },
  ])
  assert.equal(
    containerChanges([{ id: 'r1', status: { containers: first.get('r1')! } }], running).size,
    0,
    'the same: nothing',
  )
  const gone = containerChanges(
    [
      { id: 'r1', status: { containers: first.get('r1')! } },
      { id: 'r2', status: {} },
    ],
    [],
  )
  assert.deepEqual([...gone.entries()], [['r1', []]], 'removed containers are written away; r2 never had any')
})
