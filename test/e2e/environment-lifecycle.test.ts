import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { reconcileContext } from '../doubles/reconcile-context.js'
import { sealSecret, secretEnvContext } from '../../src/crypto/secret-box.js'
import { collectGarbage } from '../../src/reconcilers/garbage.js'
import { createProjectReconciler } from '../../src/reconcilers/project.js'
import { LABELS } from '../../src/runtime/labels.js'
import { TEST_SECRET_KEYS } from '../helpers/builds.js'
import { buildTestApp, client, registerUser } from '../helpers/app.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects, testLabels } from '../helpers/docker.js'
import { createRolloutWorld, type RolloutWorld } from '../helpers/rollouts.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const image = `gilgal-test/lifecycle:${runId}`
let world: RolloutWorld

before(async () => {
  await buildBusyboxImage(image, 'lifecycle\n')
  world = await createRolloutWorld('lifecycle', {
    rollout: { ...(await import('../helpers/rollouts.js')).FAST_ROLLOUT, monitorSeconds: 8 },
  })
})

after(async () => {
  await world.close()
  await removeTestObjects()
})

const running = async (deploymentId: string) =>
  (await docker.listContainers({ filters: { label: [`${LABELS.deployment}=${deploymentId}`] } })).map(
    (c) => c.Id,
  )

async function available(): Promise<Record<string, unknown>> {
  return waitFor(
    'the environment to be Available',
    async () => {
      const status = await world.environmentStatus()
      return status.phase === 'Available' ? status : undefined
    },
    { timeoutMs: 20_000 },
  )
}

async function envInside(containerId: string): Promise<string[]> {
  const exec = await docker
    .getContainer(containerId)
    .exec({ Cmd: ['/bin/busybox', 'env'], AttachStdout: true })
  const stream = await exec.start({})
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').split('\n')
}

test('scale 1 → 3 → 1 in place; a killed container comes back; a removed one is recreated', async () => {
  const driver = world.drive()
  try {
    const id = await world.deploy(image)
    await available()
    await world.db.pool.query(
      `update environments set spec = jsonb_set(spec, '{replicas}', '3') where id = $1`,
      [world.environmentId],
    )
    await waitFor(
      'three ready replicas',
      async () =>
        ((await world.environmentStatus()).replicas as { ready: number }).ready === 3 ? true : undefined,
      { timeoutMs: 20_000 },
    )
    assert.equal((await running(id)).length, 3, 'scaled in place: same revision, no rollout')
    await world.db.pool.query(
      `update environments set spec = jsonb_set(spec, '{replicas}', '1') where id = $1`,
      [world.environmentId],
    )
    await waitFor('one replica', async () => ((await running(id)).length === 1 ? true : undefined))

    const [victim] = await running(id)
    const killedAt = performance.now()
    await docker.getContainer(victim!).kill()
    await waitFor(
      'the killed container to serve again',
      async () => {
        const status = await world.environmentStatus()
        const ready = (status.replicas as { ready: number }).ready === 1 && (await running(id)).length === 1
        return ready && status.phase === 'Available' && (await fetch((status.urls as string[])[0]!)).ok
          ? true
          : undefined
      },
      { timeoutMs: 20_000 },
    )
    console.log(`# killed container healthy again after ${Math.round(performance.now() - killedAt)} ms`)

    await docker.getContainer((await running(id))[0]!).remove({ force: true })
    await waitFor(
      'a recreated container',
      async () => ((await running(id)).length === 1 ? true : undefined),
      { timeoutMs: 20_000 },
    )
    await available()
  } finally {
    await driver.stop()
  }
})

test('a revision that crashes in its bake window is rolled back automatically', async () => {
  const driver = world.drive()
  try {
    const before = (await available()).activeDeployment as { id: string }
    const crashing = await world.deploy(image, {
      command: [
        'sh',
        '-c',
        '/bin/busybox httpd -p 8080 -h /www; /bin/busybox sleep 4; echo giving up >&2; exit 1',
      ],
    })
    await waitFor(
      'the crashing revision to become Active first',
      async () =>
        (await world.statusOf(crashing)).phase === 'Active' ||
        (await world.statusOf(crashing)).phase === 'Failed'
          ? true
          : undefined,
      { timeoutMs: 20_000 },
    )
    const failed = await waitFor(
      'the rollback',
      async () => {
        const status = await world.statusOf(crashing)
        if (driver.errors.length) throw driver.errors.at(-1)
        return status.phase === 'Failed' ? status : undefined
      },
      { timeoutMs: 20_000 },
    )
    assert.deepEqual([failed.reason, failed.rolledBack], ['CrashLoop', true])
    assert.match(
      String(failed.message),
      /last log lines:\n[\s\S]*giving up/,
      'the message quotes the container',
    )
    const restarts = (await world.metrics.containerRestarts.get()).values[0]?.value ?? 0
    assert.ok(restarts >= 1, `the crash was counted as a restart (${restarts})`)
    assert.deepEqual(driver.errors, [])
    assert.ok(failed.readyAt, 'it had been Active before the bake window caught it')
    const status = await waitFor('the previous revision to serve again', async () => {
      // The revision's phase is written before containers change; the environment's status after.
      const current = await world.environmentStatus()
      const serving = (current.activeDeployment as { id: string } | null)?.id
      return serving === before.id && (current.urls as string[]).length === 1 ? current : undefined
    })
    assert.deepEqual([status.phase, status.reason], ['Degraded', 'RolledBack'])
    assert.equal((await world.statusOf(before.id)).phase, 'Active')
    assert.equal(await (await fetch((status.urls as string[])[0]!)).text(), 'lifecycle\n')
    assert.deepEqual(await running(crashing), [])
  } finally {
    await driver.stop()
  }
})

test('a rollback through the API restores the older env and secrets exactly, without a build', async () => {
  const driver = world.drive()
  try {
    const sealed = sealSecret('s3cret one', TEST_SECRET_KEYS, secretEnvContext('API_KEY'))
    const one = await world.deploy(image, {
      env: { GREETING: 'one $HOME "q"' },
      secretEnv: { API_KEY: sealed },
    })
    await waitFor(
      'revision one Active',
      async () => ((await world.statusOf(one)).phase === 'Active' ? true : undefined),
      { timeoutMs: 20_000 },
    )
    const two = await world.deploy(image, { env: { GREETING: 'two' } })
    await waitFor(
      'revision two Active',
      async () => ((await world.statusOf(two)).phase === 'Active' ? true : undefined),
      { timeoutMs: 20_000 },
    )
    const app = await buildTestApp(world.db.pool)
    const user = await registerUser(app)
    await world.db.pool.query('update projects set owner_id = $2 where id = $1', [world.projectId, user.id])
    const answer = await client(app, user).post(`/api/deployments/${one}/rollback`)
    await app.close()
    assert.equal(answer.statusCode, 201, answer.body)
    const rollback: string = answer.json().metadata.id
    await world.reconcile(rollback)
    assert.equal((await world.statusOf(rollback)).pulled, false, 'the image was there: no build, no pull')
    assert.equal(
      (await world.statusOf(rollback)).imageId,
      (await world.statusOf(one)).imageId,
      'the very image',
    )
    await waitFor(
      'the rollback Active',
      async () => ((await world.statusOf(rollback)).phase === 'Active' ? true : undefined),
      { timeoutMs: 20_000 },
    )
    const env = await envInside((await running(rollback))[0]!)
    assert.ok(env.includes('GREETING=one $HOME "q"'), env.join('\n'))
    assert.ok(env.includes('API_KEY=s3cret one'))
  } finally {
    await driver.stop()
  }
})

test("a container that merely has a replica's name is not Gilgal's: left alone, and the deploy says why", async () => {
  const { rows } = await world.db.pool.query('select latest_revision from environments where id = $1', [
    world.environmentId,
  ])
  const name = `gilgal-${world.projectName}--production-r${rows[0].latest_revision + 1}-0`
  const squatter = await docker.createContainer({ name, Image: image, Labels: testLabels() })
  const driver = world.drive()
  try {
    const id = await world.deploy(image)
    const error = await waitFor('the conflict', async () => driver.errors.at(-1))
    assert.match(error.message, new RegExp(`a container named ${name} exists and is not this environment's`))
    assert.equal((await squatter.inspect()).Id, squatter.id, 'untouched')
    await squatter.remove({ force: true })
    await waitFor(
      'the deploy to go on',
      async () => ((await world.statusOf(id)).phase === 'Active' ? true : undefined),
      { timeoutMs: 20_000 },
    )
  } finally {
    await driver.stop()
  }
})

test('garbage collection removes a labelled orphan and never touches an unlabelled container', async () => {
  const orphanLabels = {
    ...world.owner.labels,
    ...testLabels(),
    [LABELS.project]: world.projectId,
    [LABELS.environment]: randomUUID(),
  }
  const orphan = await docker.createContainer({ Image: image, Labels: orphanLabels })
  const stranger = await docker.createContainer({
    Image: image,
    Labels: testLabels({ [LABELS.environment]: randomUUID() }),
  })
  const collected = await collectGarbage({ pool: world.db.pool, runtime: world.runtime })
  assert.ok(collected.containers >= 1)
  await assert.rejects(orphan.inspect(), /no such container/i)
  assert.equal((await stranger.inspect()).Id, stranger.id, 'the unlabelled container is still there')
  await stranger.remove({ force: true })
})

test('deleting the environment and then the project leaves nothing labelled behind', async () => {
  const driver = world.drive()
  try {
    await world.db.pool.query('update environments set deletion_requested_at = now() where id = $1', [
      world.environmentId,
    ])
    await waitFor(
      'the environment row to go',
      async () => {
        const { rowCount } = await world.db.pool.query('select 1 from environments where id = $1', [
          world.environmentId,
        ])
        return rowCount === 0 ? true : undefined
      },
      { timeoutMs: 20_000 },
    )
  } finally {
    await driver.stop()
  }
  const label = `${LABELS.environment}=${world.environmentId}`
  assert.deepEqual(await docker.listContainers({ all: true, filters: { label: [label] } }), [])

  const projects = createProjectReconciler({ pool: world.db.pool, runtime: world.runtime })
  const key = { kind: 'Project' as const, id: world.projectId }
  await projects.reconcile(key, new AbortController().signal, reconcileContext())
  const network = `gilgal-${world.projectName}`
  assert.equal(
    (await docker.listNetworks({ filters: { name: [network] } })).length,
    1,
    'a live project has its network',
  )
  const projectLabel = [`${LABELS.project}=${world.projectId}`]
  const projectImage = `gilgal-test/lifecycle-built:${runId}`
  await buildBusyboxImage(projectImage, 'built\n', {
    ...world.owner.labels,
    [LABELS.project]: world.projectId,
  })
  assert.equal((await docker.listImages({ filters: { label: projectLabel } })).length, 1)
  await world.db.pool.query('update projects set deletion_requested_at = now() where id = $1', [
    world.projectId,
  ])
  await waitFor('the project row to go', async () => {
    await projects.reconcile(key, new AbortController().signal, reconcileContext())
    const { rowCount } = await world.db.pool.query('select 1 from projects where id = $1', [world.projectId])
    return rowCount === 0 ? true : undefined
  })
  assert.deepEqual(await docker.listNetworks({ filters: { name: [network] } }), [])
  assert.deepEqual(await docker.listContainers({ all: true, filters: { label: projectLabel } }), [])
  assert.deepEqual(await docker.listImages({ filters: { label: projectLabel } }), [])
})
