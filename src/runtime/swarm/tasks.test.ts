import assert from 'node:assert/strict'
import { test } from 'node:test'
import { currentTask, describeService, overlayAddress, type SwarmService, type SwarmTask } from './tasks.js'

const service = (replicas = 1, healthCheck = false): SwarmService => ({
  ID: 's1',
  Spec: {
    Name: 'gilgal-shop--production-r1-0',
    Labels: { 'dev.gilgal.port': '8080' },
    Mode: { Replicated: { Replicas: replicas } },
    TaskTemplate: { ContainerSpec: healthCheck ? { Healthcheck: { Test: ['CMD', 'true'] } } : {} },
  },
})

let index = 0
const task = (state: string, desired = 'running', extra: Partial<SwarmTask> = {}): SwarmTask => ({
  ID: `t${++index}`,
  ServiceID: 's1',
  NodeID: 'n1',
  DesiredState: desired,
  Version: { Index: index },
  Status: { State: state, Timestamp: '2026-12-02T10:00:00Z', ContainerStatus: { ExitCode: 0 } },
  ...extra,
})
const here = { host: '172.18.0.5', node: 'node-1' }

test('a running task is a running container at its address and port, with its node', () => {
  const details = describeService(service(), [task('running')], here)
  assert.equal(details.running, true)
  assert.equal(details.status, 'running')
  assert.deepEqual(details.address, { host: '172.18.0.5', port: 8080 })
  assert.deepEqual(details.networkAddress, details.address)
  assert.equal(details.node, 'node-1')
  assert.equal(details.restartCount, 0)
  assert.equal(details.startedAt, '2026-12-02T10:00:00Z')
})

test('failed tasks are restarts; the newest one wanted running stands for the replica', () => {
  const older = task('failed', 'shutdown')
  const failed = task('failed', 'shutdown', {
    Status: { State: 'failed', Err: 'task: non-zero exit (137)', ContainerStatus: { ExitCode: 137 } },
  })
  const tasks = [failed, older, task('running')]
  const details = describeService(service(), tasks, here)
  assert.equal(currentTask(tasks)?.Status.State, 'running')
  assert.equal(details.restartCount, 2)
  assert.equal(details.exitCode, 137)
  assert.equal(details.dockerHealthOutput, 'task: non-zero exit (137)')
})

test('a task being placed or replaced is restarting (Swarm, not the planner, starts it)', () => {
  for (const tasks of [[], [task('pending')], [task('failed', 'shutdown'), task('preparing')]]) {
    const details = describeService(service(), tasks, here)
    assert.equal(details.status, 'restarting')
    assert.equal(details.running, false)
    assert.equal(details.address, undefined)
  }
})

test("a task no node takes says why, in Swarm's words", () => {
  const pending = task('pending', 'running', {
    Status: { State: 'pending', Err: 'no suitable node (scheduling constraints not satisfied on 1 node)' },
  })
  assert.equal(
    describeService(service(), [pending], here).waiting,
    'pending: no suitable node (scheduling constraints not satisfied on 1 node)',
  )
  assert.equal(describeService(service(), [task('running')], here).waiting, undefined)
})

test('a service scaled to 0 is a stopped container; its shut-down task is no restart', () => {
  const details = describeService(service(0), [task('shutdown', 'shutdown')], here)
  assert.equal(details.status, 'exited')
  assert.equal(details.running, false)
  assert.equal(details.restartCount, 0)
})

test("with a health check, Swarm's `starting` is Docker's starting and `running` is healthy", () => {
  const starting = describeService(service(1, true), [task('starting')], here)
  assert.equal(starting.running, true)
  assert.equal(starting.dockerHealth, 'starting')
  assert.equal(describeService(service(1, true), [task('running')], here).dockerHealth, 'healthy')
  assert.equal(describeService(service(1, false), [task('running')], here).dockerHealth, undefined)
})

test("a task's overlay address comes without its prefix length, never the ingress network's", () => {
  const attached = task('running', 'running', {
    NetworksAttachments: [
      { Network: { Spec: { Name: 'ingress' } }, Addresses: ['10.0.0.9/24'] },
      { Network: { Spec: { Name: 'gilgal-shop' } }, Addresses: ['10.0.1.5/24'] },
    ],
  })
  assert.equal(overlayAddress(attached), '10.0.1.5')
  assert.equal(overlayAddress(task('running')), undefined)
})
