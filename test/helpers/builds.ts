import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import PQueue from 'p-queue'
import { testSecrets } from './app.js'
import {
  createDeploymentReconciler,
  type DeploymentReconcilerDeps,
} from '../../src/reconcilers/deployment/reconcile.js'
import { createDockerClient } from '../../src/runtime/docker.js'
import { createDockerRuntime } from '../../src/runtime/docker-runtime.js'
import { fencedRuntime } from '../../src/runtime/fence.js'
import { localBaseImages } from './base-images.js'
import { createTestDatabase, testEnv, type TestDatabase } from './db.js'
import { ownership, type Ownership } from '../../src/runtime/labels.js'
import { docker } from './docker.js'
import { alwaysCurrent } from '../doubles/fence.js'
import { reconcileContext } from '../doubles/reconcile-context.js'

/** The keys the test API seals with, so what it seals the reconcilers can open. */
export const TEST_SECRET_KEYS = testSecrets.secretKeys

export interface RevisionInput {
  git?: { url: string; ref?: string; path?: string }
  image?: string
  args?: Record<string, string>
  env?: Record<string, string>
  /** More of the revision's snapshot (port, healthCheck, command, …), written with it in one insert. */
  spec?: Record<string, unknown>
}

/**
 * One project with one environment in a fresh database, and what the build tests do with it: insert
 * a queued revision, run the deployment reconciler on it, read its status and log. `close` removes
 * the images built for the project, the database and the scratch directory.
 */
export interface BuildWorld {
  db: TestDatabase
  root: string
  workRoot: string
  projectId: string
  projectName: string
  /** This world's instance labels: what it builds and runs, its garbage collection alone may touch. */
  owner: Ownership
  reconcilerDeps(extra?: Partial<DeploymentReconcilerDeps>): DeploymentReconcilerDeps
  revision(input: RevisionInput): Promise<string>
  reconcile(id: string, extra?: Partial<DeploymentReconcilerDeps>): Promise<void>
  statusOf(id: string): Promise<Record<string, unknown>>
  logsOf(id: string): Promise<string[]>
  close(): Promise<void>
}

export async function createBuildWorld(prefix: string): Promise<BuildWorld> {
  const db = await createTestDatabase()
  const root = await mkdtemp(path.join(os.tmpdir(), `gilgal-${prefix}-`))
  const projectName = `${prefix}-${process.pid}`
  const { rows } = await db.pool.query(
    `with u as (insert into users (email, username, password_hash) values ('b@example.com', 'b', 'x') returning id),
          p as (insert into projects (owner_id, name) select id, $1 from u returning id),
          e as (insert into environments (project_id, name) select id, 'production' from p returning id, project_id)
     select id, project_id from e`,
    [projectName],
  )
  const { id: environmentId, project_id: projectId } = rows[0]
  const owner = ownership(`t-${testEnv().runId}-${prefix}`)
  const runtime = fencedRuntime(
    createDockerRuntime(createDockerClient(process.env.DOCKER_HOST), owner),
    alwaysCurrent,
  )
  const world: BuildWorld = {
    db,
    root,
    workRoot: path.join(root, 'work'),
    projectId,
    projectName,
    owner,
    reconcilerDeps: (extra = {}) => ({
      pool: db.pool,
      runtime,
      workRoot: world.workRoot,
      allowLocalSources: true,
      baseImages: localBaseImages(),
      buildMemoryBytes: 512 * 1024 * 1024,
      admission: new PQueue({ concurrency: 1 }),
      cancelPollMs: 100,
      secretKeys: TEST_SECRET_KEYS,
      ...extra,
    }),
    async revision(input) {
      const source = input.image
        ? { image: input.image }
        : { git: { url: input.git!.url, ref: input.git!.ref ?? 'main', path: input.git!.path ?? '.' } }
      const spec = {
        source,
        build: { dockerfile: 'Dockerfile', args: input.args ?? {}, target: null },
        env: input.env ?? {},
        ...input.spec,
      }
      // Numbered as the API numbers them, so API-made revisions (a rollback) can follow.
      const inserted = await db.pool.query(
        `with next as (update environments set latest_revision = latest_revision + 1 where id = $2 returning latest_revision)
         insert into deployments (project_id, environment_id, revision, spec, status)
         select $1, $2, latest_revision, $3, '{"phase":"Queued"}' from next returning id`,
        [projectId, environmentId, spec],
      )
      return inserted.rows[0].id
    },
    async reconcile(id, extra) {
      const reconciler = createDeploymentReconciler(world.reconcilerDeps(extra))
      await reconciler.reconcile({ kind: 'Deployment', id }, new AbortController().signal, reconcileContext())
    },
    async statusOf(id) {
      return (await db.pool.query('select status from deployments where id = $1', [id])).rows[0].status
    },
    async logsOf(id) {
      const result = await db.pool.query(
        'select message from deployment_logs where deployment_id = $1 order by seq',
        [id],
      )
      return result.rows.map((row) => row.message)
    },
    async close() {
      const filters = { label: [`dev.gilgal.project=${projectId}`] }
      for (const image of await docker.listImages({ filters })) {
        await docker.getImage(image.Id).remove({ force: true })
      }
      await db.drop()
      await rm(root, { recursive: true, force: true })
    },
  }
  return world
}
