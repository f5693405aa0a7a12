import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { registryContext, sealSecret } from '../../src/crypto/secret-box.js'
import { LOCAL_BASE } from '../helpers/base-images.js'
import { createBuildWorld, TEST_SECRET_KEYS, type BuildWorld } from '../helpers/builds.js'
import { docker } from '../helpers/docker.js'
import { fixtureRepository } from '../helpers/fixtures.js'
import { startRegistry, type TestRegistry } from '../helpers/registry.js'

const deployer = { username: 'deployer', password: 'correct horse battery' }
let world: BuildWorld
let registry: TestRegistry

before(async () => {
  world = await createBuildWorld('registry')
  registry = await startRegistry({ [deployer.username]: deployer.password })
})

after(async () => {
  await registry.stop()
  await world.close()
})

/** Stores credentials for the test registry on the project, sealed as the API would seal them. */
async function useCredentials(password: string): Promise<void> {
  const sealed = sealSecret(password, TEST_SECRET_KEYS, registryContext(registry.host))
  const registries = [{ server: registry.host, username: deployer.username, password: sealed }]
  await world.db.pool.query(
    `update projects set spec = spec || jsonb_build_object('registries', $2::jsonb) where id = $1`,
    [world.projectId, JSON.stringify(registries)],
  )
}

/** Puts the busybox base into the registry as `repository:1`, then drops the engine's copy of that name. */
async function privateImage(repository: string): Promise<string> {
  const ref = `${registry.host}/${repository}`
  await docker.getImage(LOCAL_BASE.busybox).tag({ repo: ref, tag: '1' })
  const stream = await docker
    .getImage(ref)
    .push({ tag: '1', authconfig: { ...deployer, serveraddress: registry.host } })
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (error, output: Array<{ error?: string }>) => {
      const failed = error ?? output.find((event) => event.error)?.error
      return failed ? reject(new Error(String(failed))) : resolve(undefined)
    }),
  )
  await docker.getImage(`${ref}:1`).remove()
  return `${ref}:1`
}

test('a private image is pulled with the project credentials, and refused without them', async () => {
  const image = await privateImage(`private/app-${process.pid}`)

  const anonymous = await world.revision({ image })
  await world.reconcile(anonymous)
  const refused = await world.statusOf(anonymous)
  assert.deepEqual([refused.phase, refused.reason], ['Failed', 'ImageNotFound'])
  assert.match(String(refused.message), /could not pull/)

  await useCredentials('wrong password')
  const wrong = await world.revision({ image })
  await world.reconcile(wrong)
  assert.equal((await world.statusOf(wrong)).reason, 'ImageNotFound')

  await useCredentials(deployer.password)
  const authorised = await world.revision({ image })
  await world.reconcile(authorised)
  const pulled = await world.statusOf(authorised)
  assert.equal(pulled.pulled, true, JSON.stringify(pulled))
  assert.equal(pulled.imageId, (await docker.getImage(LOCAL_BASE.busybox).inspect()).Id)
  assert.ok((await world.logsOf(authorised)).some((line) => line === `pulling ${image} as deployer`))
  await docker.getImage(image).remove()
})

test('with GILGAL_REGISTRY set, every built image is pushed there under its tag', async () => {
  await useCredentials(deployer.password)
  const repo = await fixtureRepository('dockerfile-app', world.root)
  const id = await world.revision({ git: { url: repo.url } })
  await world.reconcile(id, { registry: registry.host })
  const status = await world.statusOf(id)
  const [repository, tag] = String(status.imageTag).split(':') as [string, string]
  assert.equal(status.registryImage, `${registry.host}/${status.imageTag}`)
  const tags = await (await registry.get(`/v2/${repository}/tags/list`, deployer)).json()
  assert.deepEqual(tags, { name: repository, tags: [tag] })
  const manifest = await registry.get(
    `/v2/${repository}/manifests/${tag}`,
    deployer,
    'application/vnd.docker.distribution.manifest.v2+json',
  )
  assert.equal(manifest.headers.get('docker-content-digest'), status.registryDigest)
})

test('a registry that cannot be reached fails the push as a retryable error, recording no image', async () => {
  const repo = await fixtureRepository('static-site', world.root, 'unreachable')
  const id = await world.revision({ git: { url: repo.url } })
  await assert.rejects(world.reconcile(id, { registry: '127.0.0.1:9' }), /could not push 127\.0\.0\.1:9\//)
  const status = await world.statusOf(id)
  assert.equal(status.imageId, undefined, 'not built until it is pushed')
  assert.equal(status.phase, 'Building', 'still in progress: the work queue retries it')
  assert.match(String(status.message), /^could not push 127\.0\.0\.1:9\/.*; retrying$/)
})
