import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { after, before, test } from 'node:test'
import { createBuildWorld, type BuildWorld } from '../helpers/builds.js'
import { docker, testLabels } from '../helpers/docker.js'
import { fixtureRepository } from '../helpers/fixtures.js'
import { freePort } from '../helpers/net.js'
import { waitFor } from '../helpers/wait.js'

let world: BuildWorld

before(async () => {
  world = await createBuildWorld('build')
})

after(async () => {
  await world.close()
})

/** Runs `image` with its port published on loopback, and returns what GET / answers. */
async function answerOf(image: string, port: number): Promise<string> {
  const hostPort = await freePort()
  const container = await docker.createContainer({
    Image: image,
    Labels: testLabels(),
    HostConfig: { PortBindings: { [`${port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] } },
  })
  try {
    await container.start()
    return await waitFor(`${image} to answer`, async () => {
      const response = await fetch(`http://127.0.0.1:${hostPort}/`)
      return response.ok ? await response.text() : undefined
    })
  } finally {
    await container.remove({ force: true })
  }
}

test('the Dockerfile app is built from its commit, logged, tagged, and the same commit is then reused', async () => {
  const repo = await fixtureRepository('dockerfile-app', world.root)
  const first = await world.revision({ git: { url: repo.url }, args: { GREETING: 'bonjour' } })
  await world.reconcile(first)
  const status = await world.statusOf(first)
  assert.equal(status.commit, repo.commit)
  assert.match(
    String(status.imageTag),
    new RegExp(`^gilgal/${world.projectName}:${repo.commit.slice(0, 12)}-[0-9a-f]{8}$`),
  )
  assert.match(String(status.imageId), /^sha256:/)
  assert.equal(status.reused, false)
  assert.ok((await world.logsOf(first)).some((line) => line.includes('compiling')))
  assert.equal(await answerOf(String(status.imageTag), 8080), 'bonjour from the Dockerfile app\n')
  const { Config } = await docker.getImage(String(status.imageId)).inspect()
  assert.equal(Config.Labels['dev.gilgal.managed'], 'true')
  assert.equal(Config.Labels['dev.gilgal.project'], world.projectId)
  assert.deepEqual(await readdir(world.workRoot), [], 'the workspace is gone')
  const { rows } = await world.db.pool.query(
    `select status->>'detectedFramework' as framework from projects where id = $1`,
    [world.projectId],
  )
  assert.equal(rows[0].framework, 'dockerfile', 'what the source is, is recorded on the project')

  const second = await world.revision({ git: { url: repo.url }, args: { GREETING: 'bonjour' } })
  await world.reconcile(second)
  const reused = await world.statusOf(second)
  assert.equal(reused.imageId, status.imageId)
  assert.equal(reused.reused, true)
  const builds = (await world.logsOf(second)).filter((line) => line.includes('compiling'))
  assert.equal(builds.length, 0, 'nothing was built the second time')
})

test('a Node server without a Dockerfile is built with a generated one and runs as a non-root user', async () => {
  const repo = await fixtureRepository('node-server', world.root)
  const id = await world.revision({ git: { url: repo.url } })
  await world.reconcile(id)
  const status = await world.statusOf(id)
  assert.equal(status.phase, 'Building', `built, waiting for the rollout: ${JSON.stringify(status)}`)
  assert.equal(status.framework, 'node')
  assert.equal(status.exposedPort, 3000, "the generated Dockerfile's port, read back from the image")
  assert.ok((await world.logsOf(id)).some((line) => line.startsWith('detected node')))
  assert.match(
    await answerOf(String(status.imageTag), 3000),
    /^hello from node v\d+\.\d+\.\d+ as uid 1000\n$/,
  )
})

test('a static site is served by the static base image', async () => {
  const repo = await fixtureRepository('static-site', world.root)
  const id = await world.revision({ git: { url: repo.url } })
  await world.reconcile(id)
  const status = await world.statusOf(id)
  assert.equal(status.framework, 'static')
  assert.equal(status.exposedPort, 8080)
  assert.match(await answerOf(String(status.imageTag), 8080), /hello from the static site/)
})

test('a failing build, an unknown ref and a hostile source fail with their reasons', async () => {
  const failing = await world.revision({
    git: { url: (await fixtureRepository('failing-build', world.root)).url },
  })
  await world.reconcile(failing)
  const failed = await world.statusOf(failing)
  assert.deepEqual([failed.phase, failed.reason], ['Failed', 'BuildFailed'])
  assert.match(String(failed.message), /non-zero code: 7/)
  assert.match(String(failed.message), /error: broken on purpose/, 'the last lines of the build say why')

  const repo = await fixtureRepository('static-site', world.root, 'refs')
  const missingRef = await world.revision({ git: { url: repo.url, ref: 'no-such-branch' } })
  await world.reconcile(missingRef)
  const missing = await world.statusOf(missingRef)
  assert.deepEqual([missing.phase, missing.reason], ['Failed', 'SourceUnavailable'])

  const hostile = await world.revision({ git: { url: 'ext::sh -c touch% /tmp/pwned' } })
  await world.reconcile(hostile)
  assert.equal((await world.statusOf(hostile)).reason, 'SourceUnavailable')
  assert.deepEqual(await readdir(world.workRoot), [])
})

test('a prebuilt image is used as the engine has it; an image nobody has fails as ImageNotFound', async () => {
  const local = await world.revision({ image: 'gilgal-test/busybox:1' })
  await world.reconcile(local)
  const found = await world.statusOf(local)
  assert.equal(found.imageTag, 'gilgal-test/busybox:1')
  assert.equal(found.imageId, (await docker.getImage('gilgal-test/busybox:1').inspect()).Id)
  assert.equal(found.pulled, false)

  const absent = await world.revision({ image: `127.0.0.1:9/gilgal-absent/app:${process.pid}` })
  await world.reconcile(absent)
  const missing = await world.statusOf(absent)
  assert.deepEqual([missing.phase, missing.reason], ['Failed', 'ImageNotFound'])
  assert.match(String(missing.message), /could not pull 127\.0\.0\.1:9\/gilgal-absent\/app/)
})
