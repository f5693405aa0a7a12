import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ContainerTaskSpec } from 'dockerode'
import { PORT_LABEL, serviceName, serviceOptions } from './service-spec.js'

const spec = {
  name: 'gilgal-shop--production-r3-0',
  image: 'sha256:abc',
  labels: { 'dev.gilgal.project': 'p1' },
  env: { A: '1' },
  command: ['serve', '--port', '8080'],
  port: 8080,
  network: 'gilgal-shop',
  memoryBytes: 256 * 1024 ** 2,
  cpus: 0.5,
}

test('a short container name is the service name; a long one is cut and hashed, deterministically', () => {
  assert.equal(serviceName(spec.name), spec.name)
  const long = `gilgal-t-1234abcd-routing-${'p'.repeat(40)}--${'e'.repeat(40)}-r12-3`
  const named = serviceName(long)
  assert.ok(named.length <= 63, named)
  assert.equal(serviceName(long), named)
  assert.notEqual(serviceName(`${long}4`), named)
  assert.match(named, /^[a-z0-9-]+-[0-9a-f]{12}$/)
})

test('a replica is one dnsrr task on the project network, hardened, limited and labelled as a container', () => {
  const options = serviceOptions(spec, { 'dev.gilgal.managed': 'true' })
  const task = options.TaskTemplate as ContainerTaskSpec
  assert.deepEqual(options.Mode, { Replicated: { Replicas: 1 } })
  assert.deepEqual(options.EndpointSpec, { Mode: 'dnsrr' })
  assert.deepEqual(task.Networks, [{ Target: 'gilgal-shop' }])
  const labels = { 'dev.gilgal.project': 'p1', 'dev.gilgal.managed': 'true', [PORT_LABEL]: '8080' }
  assert.deepEqual(options.Labels, labels)
  assert.deepEqual(task.ContainerSpec?.Labels, labels)
  assert.deepEqual(task.ContainerSpec?.Args, spec.command)
  assert.equal(task.ContainerSpec?.Command, undefined) // the image's ENTRYPOINT stays
  assert.deepEqual(task.ContainerSpec?.CapabilityDrop, ['ALL'])
  assert.ok(!task.ContainerSpec?.CapabilityAdd?.includes('NET_RAW'))
  assert.deepEqual(task.Resources?.Limits, { Pids: 512, MemoryBytes: 256 * 1024 ** 2, NanoCPUs: 5e8 })
  assert.equal(task.RestartPolicy?.Condition, 'any')
  assert.equal(task.ContainerSpec?.Image, 'sha256:abc')
})

test('a digest every node can pull wins over the local id, and placement constraints pass through', () => {
  const options = serviceOptions(
    {
      ...spec,
      distributableImage: 'registry:5000/shop@sha256:def',
      placement: { constraints: ['node.role==worker'] },
    },
    {},
  )
  const task = options.TaskTemplate as ContainerTaskSpec
  assert.equal(task.ContainerSpec?.Image, 'registry:5000/shop@sha256:def')
  assert.deepEqual(task.Placement?.Constraints, ['node.role==worker'])
})

test("an exec health check becomes the service's, in nanoseconds", () => {
  const healthCheck = { command: ['true'], intervalMs: 1000, timeoutMs: 500, retries: 3, startPeriodMs: 0 }
  const task = serviceOptions({ ...spec, healthCheck }, {}).TaskTemplate as ContainerTaskSpec
  assert.deepEqual(task.ContainerSpec?.HealthCheck, {
    Test: ['CMD', 'true'],
    Interval: 1e9,
    Timeout: 5e8,
    Retries: 3,
    StartPeriod: 0,
  })
})
