import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { createDockerClient } from '../../src/runtime/docker.js'
import { createDockerRuntime } from '../../src/runtime/docker-runtime.js'
import { DockerConflictError, DockerNotFoundError, DockerUnreachableError } from '../../src/runtime/errors.js'
import { LABELS } from '../../src/runtime/labels.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects, testLabels } from '../helpers/docker.js'
import { freePort } from '../helpers/net.js'
import { waitFor } from '../helpers/wait.js'
import { ProbeTracker } from '../../src/reconcilers/environment/probes.js'

const { runId } = testEnv()
const image = `gilgal-test/runtime:${runId}`
const runtime = createDockerRuntime(createDockerClient(process.env.DOCKER_HOST))
const projectId = randomUUID()
/** The labels of this test's objects: the run's, and its project's (removals check it). */
const projectLabels = (extra: Record<string, string> = {}) =>
  testLabels({ [LABELS.project]: projectId, ...extra })

before(async () => {
  await buildBusyboxImage(image, 'runtime\n')
})

after(async () => {
  await removeTestObjects()
})

test('containers are created labelled and hardened, listed by label, stopped and removed', async () => {
  const environmentId = randomUUID()
  const id = await runtime.createContainer({
    name: `gilgal-test-runtime-${runId}`,
    image,
    labels: projectLabels({ [LABELS.environment]: environmentId }),
  })
  await runtime.startContainer(id)
  const info = await docker.getContainer(id).inspect()
  assert.equal(info.Config.Labels[LABELS.managed], 'true')
  assert.deepEqual(info.HostConfig.SecurityOpt, ['no-new-privileges'])
  assert.equal(info.HostConfig.Privileged, false)
  assert.deepEqual(info.HostConfig.CapDrop, ['ALL'])
  assert.deepEqual(info.HostConfig.CapAdd, [
    'CHOWN',
    'DAC_OVERRIDE',
    'FOWNER',
    'SETGID',
    'SETUID',
    'NET_BIND_SERVICE',
    'KILL',
  ])
  const listed = await runtime.listManaged({ environmentId })
  assert.deepEqual(
    listed.map((c) => [c.id, c.state]),
    [[id, 'running']],
  )
  await runtime.stopContainer(id, 1)
  await runtime.stopContainer(id, 1) // stopping a stopped container is not an error
  assert.equal((await runtime.listManaged({ environmentId }))[0]?.state, 'exited')
  await runtime.removeContainer(id, projectId)
  await runtime.removeContainer(id, projectId) // gone already: done
  assert.deepEqual(await runtime.listManaged({ environmentId }), [])
})

test("an unlabelled container, or another installation's, is never listed", async () => {
  const environmentId = randomUUID()
  const stranger = await docker.createContainer({
    Image: image,
    Labels: testLabels({ [LABELS.environment]: environmentId }),
  })
  const neighbour = await docker.createContainer({
    Image: image,
    Labels: testLabels({
      [LABELS.environment]: environmentId,
      [LABELS.managed]: 'true',
      [LABELS.instance]: 'other',
    }),
  })
  assert.deepEqual(await runtime.listManaged({ environmentId }), [])
  await stranger.remove({ force: true })
  await neighbour.remove({ force: true })
})

test('Docker errors arrive typed: not found, conflict, unreachable', async () => {
  await assert.rejects(runtime.startContainer('gilgal-no-such-container'), DockerNotFoundError)
  const name = `gilgal-test-dup-${runId}`
  await runtime.createContainer({ name, image, labels: testLabels() })
  await assert.rejects(runtime.createContainer({ name, image, labels: testLabels() }), DockerConflictError)
  const offline = createDockerRuntime(createDockerClient(`tcp://127.0.0.1:${await freePort()}`))
  await assert.rejects(offline.listManaged({}), DockerUnreachableError)
})

test('a revision container: env as data, limits, restart policy, network, published port, exec health', async () => {
  const network = `gilgal-test-net-${runId}`
  await runtime.ensureNetwork(network, projectLabels())
  await runtime.ensureNetwork(network, projectLabels()) // idempotent
  const hostile = '$(touch /tmp/pwned); "quoted" `x`'
  const id = await runtime.createContainer({
    name: `gilgal-test-revision-${runId}`,
    image,
    labels: projectLabels(),
    env: { GREETING: hostile },
    command: ['sh', '-c', 'echo "greeting=$GREETING"; exec /bin/busybox httpd -f -p 8080 -h /www'],
    port: 8080,
    publish: true,
    network,
    memoryBytes: 64 * 1024 * 1024,
    cpus: 0.5,
    healthCheck: {
      command: ['/bin/busybox', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'],
      intervalMs: 500,
      timeoutMs: 1000,
      retries: 3,
      startPeriodMs: 0,
    },
  })
  try {
    await runtime.startContainer(id)
    const details = await waitFor('Docker to call it healthy', async () => {
      const current = await runtime.inspectContainer(id)
      return current?.dockerHealth === 'healthy' ? current : undefined
    })
    assert.equal(details.running, true)
    assert.equal(details.address?.host, '127.0.0.1')
    const answer = await fetch(`http://127.0.0.1:${details.address?.port}/`)
    assert.equal(await answer.text(), 'runtime\n')
    const info = await docker.getContainer(id).inspect()
    assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024)
    assert.equal(info.HostConfig.NanoCpus, 5e8)
    assert.equal(info.HostConfig.PidsLimit, 512)
    assert.equal(info.HostConfig.RestartPolicy?.Name, 'unless-stopped')
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), [network])
    assert.deepEqual(
      await runtime.containerLogs(id, 10),
      [`greeting=${hostile}`],
      'the value arrived as data',
    )
  } finally {
    await runtime.removeContainer(id, projectId)
    await runtime.removeNetwork(network, projectId)
  }
  assert.equal(await runtime.inspectContainer(id), undefined)
})

test("a tcp probe asks the app itself, not Docker's proxy in front of its published port", async () => {
  const network = `gilgal-test-tcp-${runId}`
  await runtime.ensureNetwork(network, projectLabels())
  const check = {
    tcp: {},
    intervalSeconds: 1,
    timeoutSeconds: 1,
    healthyThreshold: 1,
    failureThreshold: 3,
    startPeriodSeconds: 0,
  }
  const started: string[] = []
  try {
    for (const [name, command] of [
      ['silent', ['sleep', '600']],
      ['listening', null],
    ] as const) {
      const id = await runtime.createContainer({
        name: `gilgal-test-tcp-${name}-${runId}`,
        image,
        labels: projectLabels(),
        command: command ? [...command] : null,
        port: 8080,
        publish: true,
        network,
      })
      started.push(id)
      await runtime.startContainer(id)
    }
    const [silent, listening] = await Promise.all(started.map((id) => runtime.inspectContainer(id)))
    assert.ok(silent?.networkAddress && silent.address, 'both addresses are known')
    const probes = new ProbeTracker()
    const refused = await probes.probe(silent, check, Date.now())
    assert.deepEqual(refused, { verdict: 'starting', lastError: 'tcp: connection refused' })
    const accepted = await waitFor('the listening app to pass', async () => {
      const result = await new ProbeTracker().probe(
        (await runtime.inspectContainer(started[1]!))!,
        check,
        Date.now(),
      )
      return result.verdict === 'healthy' ? result : undefined
    })
    assert.equal(accepted.verdict, 'healthy', JSON.stringify(listening?.networkAddress))
  } finally {
    for (const id of started) await runtime.removeContainer(id, projectId)
    await runtime.removeNetwork(network, projectId)
  }
})

test("another project's container or network is not removed, whatever the caller asks", async () => {
  const other = randomUUID()
  const network = `gilgal-test-theirs-${runId}`
  await runtime.ensureNetwork(network, testLabels({ [LABELS.project]: other }))
  const id = await runtime.createContainer({
    name: `gilgal-test-theirs-${runId}`,
    image,
    labels: testLabels({ [LABELS.project]: other }),
  })
  await assert.rejects(runtime.removeContainer(id, projectId), (error: unknown) => {
    assert.ok(error instanceof DockerConflictError)
    assert.match(error.message, /is not this project's/)
    return true
  })
  await runtime.removeNetwork(network, projectId)
  assert.equal((await docker.getContainer(id).inspect()).Id, id, 'their container is still there')
  assert.equal((await docker.listNetworks({ filters: { name: [network] } })).length, 1, 'their network too')
  await runtime.removeContainer(id, other)
  await runtime.removeNetwork(network, other)
  assert.deepEqual(await docker.listNetworks({ filters: { name: [network] } }), [])
})

test('a container runs as the user its environment asks for, without the capabilities it dropped', async () => {
  const id = await runtime.createContainer({
    name: `gilgal-test-user-${runId}`,
    image,
    labels: projectLabels(),
    user: '1234:1234',
    command: ['sh', '-c', 'echo "uid=$(id -u) gid=$(id -g)"; grep CapEff /proc/self/status'],
  })
  try {
    await runtime.startContainer(id)
    const lines = await waitFor('its output', async () => {
      const output = await runtime.containerLogs(id, 10)
      return output.length >= 2 ? output : undefined
    })
    assert.equal(lines[0], 'uid=1234 gid=1234')
    assert.match(lines[1]!, /^CapEff:\s+0+$/, 'a non-root user holds no capability at all')
  } finally {
    await runtime.removeContainer(id, projectId)
  }
})

test('an image that carries an installation label cannot hide its containers from this installation', async () => {
  const disguised = `gilgal-test/disguised:${runId}`
  await buildBusyboxImage(
    disguised,
    'disguised\n',
    testLabels({ [LABELS.instance]: 'elsewhere', [LABELS.managed]: 'false' }),
  )
  const environmentId = randomUUID()
  const id = await runtime.createContainer({
    name: `gilgal-test-disguised-${runId}`,
    image: disguised,
    labels: projectLabels({ [LABELS.environment]: environmentId }),
  })
  try {
    assert.deepEqual(
      (await runtime.listManaged({ environmentId })).map((c) => c.id),
      [id],
    )
  } finally {
    await runtime.removeContainer(id, projectId)
  }
})
