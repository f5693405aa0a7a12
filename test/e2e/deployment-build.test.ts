import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import PQueue from 'p-queue'
import { DEFAULT_BASE_IMAGES } from '../../src/build/dockerfiles.js'
import { createLogger } from '../../src/log.js'
import { createDeploymentReconciler } from '../../src/reconcilers/deployment/reconcile.js'
import { createDockerClient } from '../../src/runtime/docker.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'
import { docker } from '../helpers/docker.js'
import { waitFor } from '../helpers/wait.js'

let db: TestDatabase
let root: string
let environmentId: string
let projectId: string
let projectName: string
let revision = 0
const workRoot = () => path.join(root, 'work')
const reconcilerDeps = () => ({
  pool: db.pool,
  engine: createDockerClient(process.env.DOCKER_HOST),
  workRoot: workRoot(),
  allowLocalSources: true,
  baseImages: DEFAULT_BASE_IMAGES,
  buildMemoryBytes: 512 * 1024 * 1024,
  admission: new PQueue({ concurrency: 1 }),
  cancelPollMs: 100,
})
const context = { reconcileId: 'test', log: createLogger('silent') }

/** A local repository whose Dockerfile builds FROM scratch around the static busybox. */
async function repository(name: string, steps: string[]): Promise<string> {
  const dir = path.join(root, name)
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', dir])
  await copyFile('/bin/busybox', path.join(dir, 'busybox'))
  await writeFile(
    path.join(dir, 'Dockerfile'),
    ['FROM scratch', 'COPY busybox /bin/busybox', ...steps].join('\n'),
  )
  for (const args of [
    ['add', '.'],
    ['-c', 'user.email=t@e.st', '-c', 'user.name=t', 'commit', '--quiet', '-m', 'app'],
  ]) {
    execFileSync('git', ['-C', dir, ...args])
  }
  return `file://${dir}`
}

async function deployment(url: string, ref = 'main'): Promise<string> {
  const spec = {
    source: { git: { url, ref, path: '.' } },
    build: { dockerfile: 'Dockerfile', args: {}, target: null },
    env: {},
  }
  const { rows } = await db.pool.query(
    `insert into deployments (project_id, environment_id, revision, spec, status)
     values ($1, $2, $3, $4, '{"phase":"Queued"}') returning id`,
    [projectId, environmentId, ++revision, spec],
  )
  return rows[0].id
}

async function statusOf(id: string): Promise<Record<string, unknown>> {
  return (await db.pool.query('select status from deployments where id = $1', [id])).rows[0].status
}

async function logsOf(id: string): Promise<string[]> {
  const { rows } = await db.pool.query(
    'select message from deployment_logs where deployment_id = $1 order by seq',
    [id],
  )
  return rows.map((row) => row.message)
}

before(async () => {
  db = await createTestDatabase()
  root = await mkdtemp(path.join(os.tmpdir(), 'gilgal-deploy-build-'))
  projectName = `build-${process.pid}`
  const { rows } = await db.pool.query(`
    with u as (insert into users (email, username, password_hash) values ('b@example.com', 'b', 'x') returning id),
         p as (insert into projects (owner_id, name) select id, '${projectName}' from u returning id),
         e as (insert into environments (project_id, name) select id, 'production' from p returning id, project_id)
    select id, project_id from e`)
  environmentId = rows[0].id
  projectId = rows[0].project_id
})

after(async () => {
  const images = await docker.listImages({ filters: { label: [`dev.gilgal.project=${projectId}`] } })
  for (const image of images) await docker.getImage(image.Id).remove({ force: true })
  await db.drop()
  await rm(root, { recursive: true, force: true })
})

test('a revision is built from its commit, logged, tagged, and the same commit is then reused', async () => {
  const url = await repository('app', [
    'RUN ["/bin/busybox", "echo", "compiling"]',
    'CMD ["/bin/busybox", "httpd", "-f"]',
  ])
  const reconciler = createDeploymentReconciler(reconcilerDeps())
  const first = await deployment(url)
  await reconciler.reconcile(`Deployment/${first}`, new AbortController().signal, context)
  const status = await statusOf(first)
  const commit = execFileSync('git', ['-C', path.join(root, 'app'), 'rev-parse', 'HEAD'], {
    encoding: 'utf8',
  }).trim()
  assert.equal(status.commit, commit)
  assert.match(
    String(status.imageTag),
    new RegExp(`^gilgal/${projectName}:${commit.slice(0, 12)}-[0-9a-f]{8}$`),
  )
  assert.match(String(status.imageId), /^sha256:/)
  assert.equal(status.reused, false)
  assert.ok((await logsOf(first)).some((line) => line.includes('compiling')))
  assert.deepEqual(await readdir(workRoot()), [], 'the workspace is gone')
  const { rows } = await db.pool.query(
    `select status->>'detectedFramework' as framework from projects where id = $1`,
    [projectId],
  )
  assert.equal(rows[0].framework, 'dockerfile', 'what the source is, is recorded on the project')

  const second = await deployment(url)
  await reconciler.reconcile(`Deployment/${second}`, new AbortController().signal, context)
  const reused = await statusOf(second)
  assert.equal(reused.imageId, status.imageId)
  assert.equal(reused.reused, true)
  assert.ok(
    !(await logsOf(second)).some((line) => line.includes('compiling')),
    'nothing was built the second time',
  )
})

test('a failing build, an unknown ref and a hostile source fail with their reasons', async () => {
  const reconciler = createDeploymentReconciler(reconcilerDeps())
  const failing = await deployment(
    await repository('failing', ['RUN ["/bin/busybox", "sh", "-c", "echo broken >&2; exit 7"]']),
  )
  await reconciler.reconcile(`Deployment/${failing}`, new AbortController().signal, context)
  assert.deepEqual(
    [(await statusOf(failing)).phase, (await statusOf(failing)).reason],
    ['Failed', 'BuildFailed'],
  )
  assert.match(String((await statusOf(failing)).message), /non-zero code: 7/)

  const missingRef = await deployment(await repository('refs', []), 'no-such-branch')
  await reconciler.reconcile(`Deployment/${missingRef}`, new AbortController().signal, context)
  assert.deepEqual(
    [(await statusOf(missingRef)).phase, (await statusOf(missingRef)).reason],
    ['Failed', 'SourceUnavailable'],
  )

  const hostile = await deployment('ext::sh -c touch% /tmp/pwned')
  await reconciler.reconcile(`Deployment/${hostile}`, new AbortController().signal, context)
  assert.equal((await statusOf(hostile)).reason, 'SourceUnavailable')
  assert.deepEqual(await readdir(workRoot()), [])
})

test('a new term removes workspaces a killed build left behind', async () => {
  const stale = path.join(workRoot(), 'build-stale')
  await mkdir(stale, { recursive: true })
  await utimes(stale, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000))
  createDeploymentReconciler(reconcilerDeps())
  await waitFor('the stale workspace to go', async () =>
    (await readdir(workRoot())).includes('build-stale') ? undefined : true,
  )
})

test('a cancel request stops a running build within 2 s', async () => {
  const reconciler = createDeploymentReconciler(reconcilerDeps())
  const slow = await deployment(
    await repository('slow', ['RUN ["/bin/busybox", "sh", "-c", "echo sleeping; sleep 60"]']),
  )
  const running = reconciler.reconcile(`Deployment/${slow}`, new AbortController().signal, context)
  await waitFor(
    'the slow step',
    async () => ((await logsOf(slow)).some((line) => line.includes('sleeping')) ? true : undefined),
    {
      timeoutMs: 30_000,
    },
  )
  const requestedAt = performance.now()
  await db.pool.query('update deployments set cancel_requested_at = now() where id = $1', [slow])
  await running
  assert.ok(performance.now() - requestedAt < 2000, 'cancelled within 2 s')
  assert.equal((await statusOf(slow)).phase, 'Cancelled')
  assert.deepEqual(await readdir(workRoot()), [])
})
