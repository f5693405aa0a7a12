import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects, testLabels } from '../helpers/docker.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const image = `gilgal-test/smoke:${runId}`

before(async () => {
  await buildBusyboxImage(image, `hello from ${runId}\n`)
})

after(async () => {
  await removeTestObjects()
})

test('a locally built scratch image runs with a label, turns healthy and answers over HTTP', async () => {
  const container = await docker.createContainer({
    name: `gilgal-test-smoke-${runId}`,
    Image: image,
    Labels: testLabels({ 'dev.gilgal.managed': 'false' }),
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  })
  await container.start()

  const info = await container.inspect()
  assert.equal(info.Config.Labels['gilgal.test'], runId)
  const hostPort = info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort
  assert.ok(hostPort, 'the engine published port 8080 on a host port')

  const body = await waitFor('the container to answer HTTP', async () => {
    const response = await fetch(`http://127.0.0.1:${hostPort}/`)
    return response.ok ? response.text() : undefined
  })
  assert.equal(body, `hello from ${runId}\n`)

  const health = await waitFor('Docker to report the container healthy', async () => {
    const state = (await container.inspect()).State.Health?.Status
    return state === 'healthy' ? state : undefined
  })
  assert.equal(health, 'healthy')

  await container.remove({ force: true })
  const remaining = await docker.listContainers({ all: true, filters: { label: [`gilgal.test=${runId}`] } })
  assert.deepEqual(
    remaining.map((c) => c.Id),
    [],
  )
})
