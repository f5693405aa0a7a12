import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { createDeploymentReconciler } from '../../src/reconcilers/deployment/reconcile.js'
import { createBuildWorld, type BuildWorld } from '../helpers/builds.js'
import { LABELS } from '../../src/runtime/labels.js'
import { LOCAL_BASE } from '../helpers/base-images.js'
import { docker, followBuild, testLabels } from '../helpers/docker.js'
import { fixtureRepository } from '../helpers/fixtures.js'
import { exitWithin, runScript } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

const worker = fileURLToPath(new URL('../fixtures/build-worker.ts', import.meta.url))
let world: BuildWorld

before(async () => {
  world = await createBuildWorld('lifecycle')
})

after(async () => {
  await world.close()
})

/**
 * Build step containers of slow-build runs with `marker` (any container: build steps carry no labels).
 * Build args reach a step as its environment, not in its command.
 */
async function buildContainers(marker: string): Promise<string[]> {
  const steps = (await docker.listContainers({ all: true })).filter((c) =>
    c.Command.includes('sleeping $SLEEP_SECONDS'),
  )
  const found: string[] = []
  for (const step of steps) {
    const info = await docker
      .getContainer(step.Id)
      .inspect()
      .catch(() => undefined)
    if (info?.Config.Env.includes(`MARKER=${marker}`)) found.push(step.Id)
  }
  return found
}

test('a new term removes workspaces a killed build left behind', async () => {
  const stale = path.join(world.workRoot, 'build-stale')
  await mkdir(stale, { recursive: true })
  await utimes(stale, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000))
  createDeploymentReconciler(world.reconcilerDeps())
  await waitFor('the stale workspace to go', async () =>
    (await readdir(world.workRoot)).includes('build-stale') ? undefined : true,
  )
})

/** Builds a one-layer image on the busybox base with `labels`, tagged `tag`; resolves with its id. */
async function tinyImage(tag: string, labels: Record<string, string>, content: string): Promise<string> {
  const context = await mkdtemp(path.join(world.root, 'tiny-'))
  await writeFile(
    path.join(context, 'Dockerfile'),
    `FROM ${LOCAL_BASE.busybox}\nRUN echo ${content} > /content\n`,
  )
  await followBuild(await docker.buildImage({ context, src: ['Dockerfile'] }, { t: tag, labels, rm: true }))
  return (await docker.getImage(tag).inspect()).Id
}

test("a new term removes Gilgal's dangling images and leaves anybody else's", async () => {
  const managed = testLabels({ ...world.owner.labels, [LABELS.project]: world.projectId })
  const tag = `gilgal-test/dangling:${process.pid}`
  const stray = await tinyImage(tag, managed, `stray-${Date.now()}`)
  await tinyImage(tag, managed, `current-${Date.now()}`) // takes the tag: the first is now dangling
  const foreignTag = `gilgal-test/foreign:${process.pid}`
  const foreign = await tinyImage(foreignTag, testLabels(), `foreign-${Date.now()}`)
  await tinyImage(foreignTag, testLabels(), `foreign-current-${Date.now()}`)
  const exists = (id: string) =>
    docker
      .getImage(id)
      .inspect()
      .then(
        () => true,
        () => false,
      )
  assert.ok((await exists(stray)) && (await exists(foreign)))
  await world.reconcile(await world.revision({ image: LOCAL_BASE.busybox }))
  assert.equal(await exists(stray), false, 'the dangling managed image is gone')
  assert.equal(await exists(foreign), true, 'an unlabelled image is never touched')
  await docker.getImage(foreign).remove({ force: true })
})

test('a cancel request stops a running build within 2 s and leaves no build container', async () => {
  const marker = `cancel-${process.pid}-${Date.now()}`
  const repo = await fixtureRepository('slow-build', world.root, 'slow')
  const slow = await world.revision({ git: { url: repo.url }, args: { MARKER: marker } })
  const running = world.reconcile(slow)
  await waitFor(
    'the slow step',
    async () => ((await world.logsOf(slow)).some((line) => line.includes(marker)) ? true : undefined),
    {
      timeoutMs: 30_000,
    },
  )
  assert.equal((await buildContainers(marker)).length, 1, 'the step runs in a build container')
  const requestedAt = performance.now()
  await world.db.pool.query('update deployments set cancel_requested_at = now() where id = $1', [slow])
  await running
  assert.ok(performance.now() - requestedAt < 2000, 'cancelled within 2 s')
  assert.equal((await world.statusOf(slow)).phase, 'Cancelled')
  assert.deepEqual(await readdir(world.workRoot), [])
  await waitFor('the build container to go', async () =>
    (await buildContainers(marker)).length === 0 ? true : undefined,
  )
})

test('a controller killed mid-build leaves nothing behind, and the next one builds the revision', async () => {
  const marker = `restart-${process.pid}-${Date.now()}`
  const repo = await fixtureRepository('slow-build', world.root, 'restart')
  const id = await world.revision({ git: { url: repo.url }, args: { MARKER: marker, SLEEP_SECONDS: '3' } })
  const child = runScript(worker, [world.db.url, id, world.workRoot])
  await waitFor(
    'the build step to start',
    async () => ((await world.logsOf(id)).some((line) => line.includes(marker)) ? true : undefined),
    { timeoutMs: 30_000 },
  )
  assert.equal((await world.statusOf(id)).phase, 'Building')
  assert.equal((await buildContainers(marker)).length, 1, 'the step runs in a build container')
  child.child.kill('SIGKILL')
  await exitWithin(child, 5000)
  assert.equal((await readdir(world.workRoot)).length, 1, 'the killed build left its workspace')
  await waitFor('the engine to drop the orphaned build', async () =>
    (await buildContainers(marker)).length === 0 ? true : undefined,
  )

  await world.reconcile(id)
  const status = await world.statusOf(id)
  assert.match(String(status.imageId), /^sha256:/, JSON.stringify(status))
  assert.equal(status.reused, false, 'built again from the start')
  const logs = await world.logsOf(id)
  assert.equal(
    logs.filter((line) => line.includes(`sleeping 3 s (${marker})`)).length,
    2,
    'two attempts, one log',
  )
  assert.deepEqual(await readdir(world.workRoot), [], "the new term removed the old term's workspace")
  assert.deepEqual(await buildContainers(marker), [])
})
