import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { gitContext, registryContext, sealSecret } from '../../src/crypto/secret-box.js'
import { createDeploymentReconciler } from '../../src/reconcilers/deployment/reconcile.js'
import { fencedRuntime } from '../../src/runtime/fence.js'
import type { ImageBuild } from '../../src/runtime/runtime.js'
import { FakeRuntime } from '../doubles/fake-runtime.js'
import { alwaysCurrent } from '../doubles/fence.js'
import { reconcileContext } from '../doubles/reconcile-context.js'
import { createBuildWorld, TEST_SECRET_KEYS, type BuildWorld } from '../helpers/builds.js'
import { fixtureRepository, type FixtureRepository } from '../helpers/fixtures.js'
import { startGitHttpsRemote } from '../helpers/git-https.js'

// The deployment reconciler against the fake runtime: what it asks of the engine, and what it records.
let fake: FakeRuntime
let world: BuildWorld
let repo: FixtureRepository

before(async () => {
  fake = new FakeRuntime()
  world = await createBuildWorld('fake-build', fencedRuntime(fake.forEpoch(1), alwaysCurrent))
  repo = await fixtureRepository('dockerfile-app', world.root)
})

after(async () => {
  await world.close()
})

async function reconcile(id: string, extra: Parameters<BuildWorld['reconcilerDeps']>[0] = {}) {
  const context = reconcileContext()
  const reconciler = createDeploymentReconciler(world.reconcilerDeps(extra))
  await reconciler.reconcile({ kind: 'Deployment', id }, new AbortController().signal, context)
  return context
}

const methods = () => fake.mutations().map((call) => call.method)

describe('a git revision', () => {
  test('is built through the runtime from its commit, recorded, and its environment enqueued', async () => {
    fake.calls.length = 0
    const id = await world.revision({ git: { url: repo.url } })
    const context = await reconcile(id)
    assert.deepEqual(methods(), ['removeDanglingImages', 'buildImage'])
    const build = fake.mutations()[1]!.args[0] as ImageBuild
    const dockerfile = await readFile(path.join(repo.dir, 'Dockerfile'), 'utf8')
    assert.equal(build.dockerfile, dockerfile, 'the source own Dockerfile, as text')
    assert.deepEqual(build.labels, { 'dev.gilgal.project': world.projectId })
    assert.deepEqual(build.exclude, ['.git'])
    const status = await world.statusOf(id)
    assert.equal(status.imageId, fake.images.get(build.tag)?.id)
    assert.equal(status.commit, repo.commit)
    assert.equal(status.exposedPort, 8080)
    assert.equal(status.reused, false)
    assert.deepEqual(context.enqueued, [{ kind: 'Environment', id: world.environmentId }])
  })

  test('of the same commit and build inputs reuses the image: nothing is built', async () => {
    fake.calls.length = 0
    const id = await world.revision({ git: { url: repo.url } })
    await reconcile(id)
    assert.deepEqual(methods(), ['removeDanglingImages'])
    assert.equal((await world.statusOf(id)).reused, true)
  })

  test('written without build or env (by hand, or an older Gilgal) means their defaults: the same image', async () => {
    fake.calls.length = 0
    const id = await world.revision({ git: { url: repo.url }, spec: { build: undefined, env: undefined } })
    await reconcile(id)
    assert.deepEqual(methods(), ['removeDanglingImages'], 'the image of the default build inputs is reused')
    assert.equal((await world.statusOf(id)).reused, true)
  })

  test('whose build fails is Failed with BuildFailed and the build lines', async () => {
    fake.buildFailure = 'step 3 exited with 1'
    try {
      const id = await world.revision({ git: { url: repo.url }, args: { GREETING: 'changed' } })
      await reconcile(id)
      const status = await world.statusOf(id)
      assert.deepEqual([status.phase, status.reason], ['Failed', 'BuildFailed'])
      assert.match(String(status.message), /step 3 exited with 1/)
    } finally {
      fake.buildFailure = undefined
    }
  })

  test('with GILGAL_REGISTRY is pushed there, and the digest recorded', async () => {
    fake.calls.length = 0
    const id = await world.revision({ git: { url: repo.url }, args: { GREETING: 'pushed' } })
    await reconcile(id, { registry: 'registry.test:5000' })
    assert.deepEqual(methods(), ['removeDanglingImages', 'buildImage', 'pushImage'])
    const status = await world.statusOf(id)
    assert.match(String(status.registryImage), /^registry\.test:5000\/gilgal\//)
    assert.match(String(status.registryDigest), /^sha256:digest-of-/)
  })
})

describe('a private https remote', () => {
  test("is fetched with the revision's sealed credentials, opened only for that URL", async () => {
    const served = path.join(world.root, 'served')
    await mkdir(served)
    execFileSync('git', ['clone', '--quiet', '--bare', repo.dir, path.join(served, 'app.git')])
    const remote = await startGitHttpsRemote(world.root, served, 'deploy', 's3cret-token')
    process.env.GIT_SSL_CAINFO = remote.caFile
    try {
      const url = remote.url('app.git')
      const password = sealSecret('s3cret-token', TEST_SECRET_KEYS, gitContext(url))
      fake.calls.length = 0
      const id = await world.revision({ git: { url, credentials: { username: 'deploy', password } } })
      await reconcile(id)
      const status = await world.statusOf(id)
      assert.equal(status.commit, repo.commit, JSON.stringify(status))
      assert.ok(remote.requests.some((request) => request.authorized))
      assert.doesNotMatch((await world.logsOf(id)).join('\n'), /s3cret-token/)
    } finally {
      delete process.env.GIT_SSL_CAINFO
      await remote.close()
    }
  })
})

describe('a prebuilt image', () => {
  test('is pulled for every revision, even when the engine has it, and its digest recorded', async () => {
    fake.addImage('shop:1', { id: 'sha256:stale', exposedPort: 3000, digests: [] })
    fake.registry.set('shop:1', { id: 'sha256:fresh', exposedPort: 3000 })
    fake.calls.length = 0
    const id = await world.revision({ image: 'shop:1' })
    await reconcile(id)
    assert.deepEqual(methods(), ['removeDanglingImages', 'pullImage'])
    const status = await world.statusOf(id)
    assert.deepEqual([status.imageId, status.exposedPort], ['sha256:fresh', 3000])
    assert.equal(status.imageDigest, `shop@sha256:${'d'.repeat(64)}`)
  })

  test('named without a tag is pulled as :latest, never looked up as a word the engine could take for an id', async () => {
    fake.registry.set('abcd:latest', { id: 'sha256:named', exposedPort: undefined })
    fake.calls.length = 0
    await reconcile(await world.revision({ image: 'abcd' }))
    assert.deepEqual(fake.mutations()[1]!.args[0], 'abcd:latest')
  })

  test('that no registry gives runs from the engine only when local images are allowed, and never another project’s build or pull', async () => {
    fake.addImage('local-only:1', { id: 'sha256:mine', exposedPort: 8080, digests: [] })
    fake.addImage('gilgal/theirs:abc', {
      id: 'sha256:theirs',
      exposedPort: 8080,
      builtFor: randomUUID(),
      digests: [],
    })
    fake.addImage('private.example.com/theirs:1', {
      id: 'sha256:pulled-by-another',
      exposedPort: 8080,
      digests: [`private.example.com/theirs@sha256:${'e'.repeat(64)}`],
    })
    const allowed = await world.revision({ image: 'local-only:1' })
    await reconcile(allowed)
    assert.equal((await world.statusOf(allowed)).imageId, 'sha256:mine')
    const refused = await world.revision({ image: 'local-only:1' })
    await reconcile(refused, { allowLocalImages: false })
    const theirs = await world.revision({ image: 'gilgal/theirs:abc' })
    await reconcile(theirs)
    const pulledByAnother = await world.revision({ image: 'private.example.com/theirs:1' })
    await reconcile(pulledByAnother)
    for (const [id, why] of [
      [refused, /could not pull local-only:1: not found/],
      [theirs, /the engine's copy was built for another project/],
      [pulledByAnother, /the engine's copy came from a registry/],
    ] as const) {
      const status = await world.statusOf(id)
      assert.deepEqual([status.phase, status.reason, status.imageId], ['Failed', 'ImageNotFound', undefined])
      assert.match(String(status.message), why)
    }
  })

  test('whose registry does not answer keeps the image its environment runs, for a change of configuration', async () => {
    fake.registry.set('shop:outage', { id: 'sha256:before-outage', exposedPort: 8080 })
    const first = await world.revision({ image: 'shop:outage' })
    await reconcile(first)
    await world.db.pool.query(
      `update deployments set status = status || '{"phase":"Active"}' where id = $1`,
      [first],
    )
    fake.registry.delete('shop:outage') // the registry is away
    const second = await world.revision({ image: 'shop:outage', env: { NEW: 'setting' } })
    await reconcile(second)
    const status = await world.statusOf(second)
    assert.equal(status.imageId, 'sha256:before-outage', JSON.stringify(status))
    assert.equal(status.imageDigest, `shop@sha256:${'d'.repeat(64)}`)
    await world.db.pool.query(
      `update deployments set status = status || '{"phase":"Superseded"}' where id = $1`,
      [first],
    )
  })

  test("from a registry inside this server's networks is refused unless the operator allows it", async () => {
    fake.registry.set('127.0.0.1:5000/shop:1', { id: 'sha256:inside', exposedPort: undefined })
    fake.calls.length = 0
    const id = await world.revision({ image: '127.0.0.1:5000/shop:1' })
    await reconcile(id, { allowPrivateSources: false })
    assert.deepEqual(methods(), ['removeDanglingImages'], 'nothing pulled')
    const status = await world.statusOf(id)
    assert.deepEqual([status.phase, status.reason], ['Failed', 'ImageNotFound'])
    assert.match(String(status.message), /registry 127\.0\.0\.1 is an address inside this server's networks/)
  })

  test('absent is pulled with the project credentials; one nobody has is ImageNotFound', async () => {
    const server = 'registry.test:5000'
    const password = sealSecret('s3cret', TEST_SECRET_KEYS, registryContext(server))
    await world.db.pool.query(`update projects set spec = $2 where id = $1`, [
      world.projectId,
      { framework: 'auto', registries: [{ server, username: 'deploy', password }] },
    ])
    fake.registry.set(`${server}/shop:2`, { id: 'sha256:pulled', exposedPort: undefined })
    fake.calls.length = 0
    const pulled = await world.revision({ image: `${server}/shop:2` })
    await reconcile(pulled)
    assert.deepEqual(methods(), ['removeDanglingImages', 'pullImage'])
    assert.deepEqual(fake.mutations()[1]!.args[1], {
      serveraddress: server,
      username: 'deploy',
      password: 's3cret',
    })
    assert.equal((await world.statusOf(pulled)).imageId, 'sha256:pulled')
    const missing = await world.revision({ image: `${server}/shop:404` })
    await reconcile(missing)
    const status = await world.statusOf(missing)
    assert.deepEqual([status.phase, status.reason], ['Failed', 'ImageNotFound'])
  })
})
