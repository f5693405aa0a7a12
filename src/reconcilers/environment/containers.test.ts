import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseSecretKeys } from '../../config/secrets.js'
import { sealSecret, secretEnvContext } from '../../crypto/secret-box.js'
import { parseMemory } from '../../model/units.js'
import { containerSpecFor, portOf } from './containers.js'

const bounds = { memoryBytes: 4 * 1024 ** 3, cpus: 2 }
const keys = parseSecretKeys(`k:${Buffer.alloc(32, 3).toString('base64')}`)

test("a replica's container: deterministic name, labels, env with its secrets opened, limits", () => {
  const spec = containerSpecFor({
    project: { id: 'p1', name: 'shop' },
    environment: { id: 'e1', name: 'production' },
    revision: {
      id: 'd7',
      revision: 7,
      spec: {
        env: { NODE_ENV: 'production' },
        secretEnv: { API_KEY: sealSecret('k3y', keys, secretEnvContext('API_KEY')) },
        command: ['node', 'server.js'],
        user: '1000:1000',
        resources: { memory: '256Mi', cpus: 0.25 },
        healthCheck: {
          exec: { command: ['true'] },
          intervalSeconds: 1,
          timeoutSeconds: 2,
          healthyThreshold: 1,
          failureThreshold: 3,
          startPeriodSeconds: 0,
        },
        port: null,
      },
      status: { imageId: 'sha256:abc', exposedPort: 3000 },
    },
    index: 2,
    secretKeys: keys,
    bounds,
  })
  assert.equal(spec.name, 'gilgal-shop--production-r7-2')
  assert.deepEqual(spec.labels, {
    'dev.gilgal.project': 'p1',
    'dev.gilgal.environment': 'e1',
    'dev.gilgal.deployment': 'd7',
    'dev.gilgal.revision': '7',
    'dev.gilgal.replica': '2',
  })
  assert.deepEqual(spec.env, { NODE_ENV: 'production', API_KEY: 'k3y', PORT: '3000' })
  assert.deepEqual([spec.image, spec.port, spec.network], ['sha256:abc', 3000, 'gilgal-shop'])
  assert.deepEqual([spec.memoryBytes, spec.cpus], [256 * 1024 ** 2, 0.25])
  assert.deepEqual(spec.healthCheck?.command, ['true'], 'exec checks run as Docker health checks')
  assert.equal(spec.user, '1000:1000')
})

test('the port: the environment names it, else the image exposes it, else 8080', () => {
  assert.equal(portOf({ port: 5000 }, { exposedPort: 3000 }), 5000)
  assert.equal(portOf({ port: null }, { exposedPort: 3000 }), 3000)
  assert.equal(portOf({ port: null }, {}), 8080)
})

test('memory sizes in the forms the schema allows', () => {
  assert.equal(parseMemory('512Mi'), 512 * 1024 ** 2)
  assert.equal(parseMemory('1.5Gi'), 1.5 * 1024 ** 3)
  assert.equal(parseMemory('300m'), 300e6, 'powers of ten, as the schema documents')
  assert.equal(parseMemory('1024'), 1024)
})

test('a revision written without resources still runs limited, with the schema defaults', () => {
  const spec = containerSpecFor({
    project: { id: 'p1', name: 'shop' },
    environment: { id: 'e1', name: 'production' },
    revision: {
      id: 'd1',
      revision: 1,
      spec: { env: {}, secretEnv: {}, command: null, port: 8080 } as never,
      status: { imageId: 'sha256:abc' },
    },
    index: 0,
    secretKeys: keys,
    bounds,
  })
  assert.deepEqual([spec.memoryBytes, spec.cpus], [512 * 1024 ** 2, 0.5])
})

test('limits from before the bounds (a rollback, lowered GILGAL_MAX_*) run clamped within them, never unlimited', () => {
  const limited = (resources: { memory: string; cpus: number }) =>
    containerSpecFor({
      project: { id: 'p1', name: 'shop' },
      environment: { id: 'e1', name: 'production' },
      revision: {
        id: 'd1',
        revision: 1,
        spec: { env: {}, secretEnv: {}, command: null, user: null, port: 8080, resources } as never,
        status: { imageId: 'sha256:abc' },
      },
      index: 0,
      secretKeys: keys,
      bounds,
    })
  assert.deepEqual(
    [limited({ memory: '0', cpus: 0 }).memoryBytes, limited({ memory: '0', cpus: 0 }).cpus],
    [6 * 1024 ** 2, 0.01],
  )
  assert.deepEqual(
    [limited({ memory: '64Gi', cpus: 64 }).memoryBytes, limited({ memory: '64Gi', cpus: 64 }).cpus],
    [4 * 1024 ** 3, 2],
  )
})
