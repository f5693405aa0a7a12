import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { collectGarbage } from '../../src/reconcilers/garbage.js'
import { LABELS } from '../../src/runtime/labels.js'
import { createBuildWorld, type BuildWorld } from '../helpers/builds.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects } from '../helpers/docker.js'

const { runId } = testEnv()
let world: BuildWorld

before(async () => {
  world = await createBuildWorld('garbage')
})

after(async () => {
  await world.close()
  await removeTestObjects()
})

const exists = (id: string) =>
  docker
    .getImage(id)
    .inspect()
    .then(
      () => true,
      () => false,
    )

test('images of revisions beyond revisionHistoryLimit go; recent ones, young ones and foreign ones stay', async () => {
  await world.db.pool.query(
    `update environments set spec = '{"rollout": {"revisionHistoryLimit": 1}}' where project_id = $1`,
    [world.projectId],
  )
  const managed = { ...world.owner.labels, [LABELS.project]: world.projectId }
  const ids: string[] = []
  for (const [index, body] of ['old', 'current', 'young-stray'].entries()) {
    const tag = `gilgal-test/garbage-${body}:${runId}`
    await buildBusyboxImage(tag, `${body}\n`, managed)
    ids[index] = (await docker.getImage(tag).inspect()).Id
  }
  const foreignTag = `gilgal-test/garbage-foreign:${runId}`
  await buildBusyboxImage(foreignTag, 'foreign\n', {
    [LABELS.managed]: 'true',
    [LABELS.project]: world.projectId,
  })
  const foreign = (await docker.getImage(foreignTag).inspect()).Id
  for (const [index, phase] of ['Superseded', 'Active'].entries()) {
    const id = await world.revision({
      image: `gilgal-test/garbage-${index === 0 ? 'old' : 'current'}:${runId}`,
    })
    await world.db.pool.query(
      `update deployments set status = jsonb_build_object('phase', $2::text, 'imageId', $3::text) where id = $1`,
      [id, phase, ids[index]],
    )
  }
  const { runtime } = world.reconcilerDeps()

  const now = await collectGarbage({ pool: world.db.pool, runtime })
  assert.equal(now.images, 0, 'nothing younger than the grace period goes, whatever its revision')

  const later = await collectGarbage({ pool: world.db.pool, runtime, now: () => Date.now() + 11 * 60_000 })
  assert.deepEqual(
    [await exists(ids[0]!), await exists(ids[1]!), await exists(ids[2]!), await exists(foreign)],
    [false, true, false, true],
    'beyond the limit: gone; the active revision: kept; an image no revision uses: gone; another instance: untouched',
  )
  assert.equal(later.images, 2)
  await docker.getImage(foreign).remove({ force: true })
})
