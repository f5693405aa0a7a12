/** The Swarm runtime against a real one-node Swarm: what the rollout tests do not show. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { parseConfig } from '../../src/config/index.js'
import { DockerConflictError } from '../../src/runtime/errors.js'
import { createRuntime } from '../../src/runtime/create.js'
import type { Runtime } from '../../src/runtime/runtime.js'
import { readSwarmFacts } from '../../src/runtime/swarm/preflight.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects } from '../helpers/docker.js'
import { assertSwarmManager, labelledObjects, removeSwarmObjects } from '../helpers/swarm.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const instance = `t-${runId}-swarmrt`
const image = `gilgal-test/swarm-runtime:${runId}`
const network = `gilgal-${instance}-net`
let runtime: Runtime
let imageId: string

before(async () => {
  await assertSwarmManager()
  await buildBusyboxImage(image, 'hello\n')
  imageId = (await docker.getImage(image).inspect()).Id
  runtime = await createRuntime(parseConfig({ GILGAL_RUNTIME: 'swarm', GILGAL_INSTANCE: instance }), docker)
  await runtime.ensureNetwork(network, { 'dev.gilgal.project': 'p1' })
})

after(async () => {
  await removeSwarmObjects(instance)
  await docker
    .getService(`${instance}-squatter`)
    .remove()
    .catch(() => undefined)
  await waitFor(
    'the network to go',
    async () => {
      await runtime.removeNetwork(network, 'p1')
      return (await labelledObjects(instance)).length === 0 ? true : undefined
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  )
  await removeTestObjects()
})

const replica = (name: string, project = 'p1') => ({
  name: `${instance}-${name}`,
  image: imageId,
  labels: { 'dev.gilgal.project': project, 'dev.gilgal.environment': 'e1', 'dev.gilgal.deployment': 'd1' },
  command: ['sh', '-c', 'echo started; exec httpd -f -p 8080 -h /www'],
  port: 8080,
  network,
})

const runningAt = (id: string) =>
  waitFor(
    'the task to run',
    async () => {
      const details = await runtime.inspectContainer(id)
      return details?.running ? details : undefined
    },
    { timeoutMs: 30_000 },
  )

test('with host reach every service is kept on this node; it answers at its gateway address and logs', async () => {
  const id = await runtime.createContainer(replica('a'))
  const service = (await docker.getService(id).inspect()) as {
    Spec: { TaskTemplate: { Placement?: { Constraints?: string[] } } }
  }
  const { nodeId } = await readSwarmFacts(docker)
  assert.deepEqual(service.Spec.TaskTemplate.Placement?.Constraints, [`node.id==${nodeId}`])
  const details = await runningAt(id)
  const response = await fetch(`http://${details.address!.host}:${details.address!.port}/`)
  assert.equal(await response.text(), 'hello\n')
  const logs = await waitFor('its log line', async () => {
    const lines = await runtime.containerLogs(id, 10)
    return lines.some((line) => line.includes('started')) ? lines : undefined
  })
  assert.ok(logs.length >= 1)
  assert.deepEqual(
    (await runtime.listManaged({ environmentId: 'e1' })).map((c) => [c.id, c.state]),
    [[id, 'running']],
  )
})

test('stop scales the service to 0 (no restart counted); start brings it back', async () => {
  const [listed] = await runtime.listManaged({ environmentId: 'e1' })
  await runtime.stopContainer(listed!.id, 1)
  const stopped = await waitFor(
    'the task to stop',
    async () => {
      const details = await runtime.inspectContainer(listed!.id)
      return details?.status === 'exited' ? details : undefined
    },
    { timeoutMs: 30_000 },
  )
  assert.equal(stopped.restartCount, 0)
  await runtime.startContainer(listed!.id)
  assert.equal((await runningAt(listed!.id)).restartCount, 0)
})

test("an exec health check runs on the task's node, and the manager's task list says when it passes", async () => {
  const healthCheck = {
    command: ['/bin/busybox', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'],
    intervalMs: 500,
    timeoutMs: 1000,
    retries: 3,
    startPeriodMs: 0,
  }
  const id = await runtime.createContainer({ ...replica('checked'), healthCheck })
  const healthy = await waitFor(
    'Docker to call it healthy',
    async () => {
      const details = await runtime.inspectContainer(id)
      return details?.dockerHealth === 'healthy' ? details : undefined
    },
    { timeoutMs: 30_000 },
  )
  assert.equal(healthy.running, true)
  await runtime.removeContainer(id, 'p1')
})

test("the watch hears this cluster's node events (a node changed: anything may have moved)", async () => {
  const heard: string[] = []
  const close = await runtime.watchContainerEvents(
    Math.floor(Date.now() / 1000),
    (event) => heard.push(event.action),
    () => undefined,
  )
  try {
    const { nodeId } = await readSwarmFacts(docker)
    const label = `gilgal-test-${runId}`
    const update = async (labels: (current: Record<string, string>) => Record<string, string>) => {
      const node = (await docker.getNode(nodeId).inspect()) as {
        Version: { Index: number }
        Spec: { Labels?: Record<string, string> }
      }
      await docker
        .getNode(nodeId)
        .update({ ...node.Spec, Labels: labels(node.Spec.Labels ?? {}), version: node.Version.Index })
    }
    await update((labels) => ({ ...labels, [label]: 'x' }))
    await update(({ [label]: _gone, ...rest }) => rest)
    await waitFor('a node event', async () => (heard.includes('node') ? true : undefined))
  } finally {
    close()
  }
})

test("a service of another project is refused, and a name somebody else's service holds is a conflict", async () => {
  const other = await runtime.createContainer(replica('b', 'p2'))
  await assert.rejects(runtime.removeContainer(other, 'p1'), DockerConflictError)
  assert.ok(await runtime.inspectContainer(other), 'still there')
  await runtime.removeContainer(other, 'p2')
  assert.equal(await runtime.inspectContainer(other), undefined)

  await docker.createService({
    Name: `${instance}-squatter`,
    TaskTemplate: { ContainerSpec: { Image: imageId, Args: ['sleep', '600'] } },
  })
  await assert.rejects(runtime.createContainer(replica('squatter')), DockerConflictError)
  assert.deepEqual(
    (await runtime.listManaged({})).map((c) => c.name).filter((n) => n.endsWith('squatter')),
    [],
    'an unlabelled service is never listed',
  )
})
