/**
 * Issue 5's build figures: the Dockerfile fixture built through Gilgal (revision inserted → status has
 * the image; that is NOTIFY, git resolve and fetch, build and the status write) against `docker build`
 * of the same context (the commit's tree) by the CLI, interleaved run by run. Uncached: every run
 * changes a build arg the RUN step reads. Cache hit: a run repeats earlier inputs (Gilgal reuses the
 * image by tag; the CLI finds every step cached).
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'
import PQueue from 'p-queue'
import { parseSecretKeys } from '../src/config/secrets.js'
import { ControllerManager } from '../src/controller/manager.js'
import { createLogger } from '../src/log.js'
import { fetchCommit, removeWorkspace, resolveCommit } from '../src/source/git.js'
import { createMetrics } from '../src/metrics/registry.js'
import { createDeploymentReconciler } from '../src/reconcilers/deployment/reconcile.js'
import { createDockerRuntime } from '../src/runtime/docker-runtime.js'
import { fencedRuntime, type Fence } from '../src/runtime/fence.js'
import type { Reconciler } from '../src/controller/reconciler.js'
import { createPool, type Pool } from '../src/store/pool.js'
import { ensureLocalBaseImages, localBaseImages } from '../test/helpers/base-images.js'
import { docker } from '../test/helpers/docker.js'
import { fixtureRepository } from '../test/helpers/fixtures.js'
import { row, type BenchRow } from './table.js'
import { summarize } from './load.js'

const RUNS = 7
const log = createLogger('silent')
const run = promisify(execFile)

export async function runBuildBench(databaseUrl: string): Promise<BenchRow[]> {
  await ensureLocalBaseImages()
  const root = await mkdtemp(path.join(os.tmpdir(), 'gilgal-bench-build-'))
  const pool = createPool(databaseUrl, log, 4)
  const manager = deploymentController(pool, databaseUrl, path.join(root, 'work'))
  try {
    await manager.start()
    while (!manager.elector.isLeader) await delay(50)
    const repo = await fixtureRepository('dockerfile-app', root)
    const revision = await revisionInserter(pool, repo.url)
    const context = await exportedTree(repo.dir, path.join(root, 'cli-context'))
    const cli = (greeting: string) => timed(() => cliBuild(context, greeting))
    const gilgal = (greeting: string) => timed(() => revision(greeting))
    const uncached = { gilgal: [] as number[], cli: [] as number[] }
    const cached = { gilgal: [] as number[], cli: [] as number[] }
    for (let i = 0; i < RUNS; i++) {
      // Distinct values per side: the engine's layer cache is shared, so the CLI must not reuse a
      // layer Gilgal just built, nor the other way round.
      const run = `${process.pid}-${i}`
      uncached.gilgal.push(await gilgal(`gilgal-${run}`))
      uncached.cli.push(await cli(`cli-${run}`))
      cached.gilgal.push(await gilgal(`gilgal-${run}`))
      cached.cli.push(await cli(`cli-${run}`))
    }
    return [
      buildRow('uncached', uncached, 1.05),
      buildRow('cache hit', cached, 1.0),
      await gitRow(repo.url, root, summarize(uncached.cli).p50),
    ]
  } finally {
    await manager.stop(2000)
    await pool.end()
    await removeBenchImages()
    await rm(root, { recursive: true, force: true })
  }
}

function buildRow(name: string, samples: { gilgal: number[]; cli: number[] }, maxRatio: number): BenchRow {
  const gilgal = summarize(samples.gilgal).p50
  const cli = summarize(samples.cli).p50
  return row({
    name: `build ${name}, p50, revision -> image (n=${RUNS})`,
    value: gilgal,
    unit: 'ms',
    baseline: cli,
    baselineName: 'docker build CLI',
    target: `<= ${maxRatio.toFixed(2)}x`,
    met: gilgal <= maxRatio * cli,
  })
}

/**
 * What git alone costs of an uncached build: the product's own resolve (ls-remote) and fetch (init,
 * fetch --depth 1, checkout) of the fixture, timed apart, beside the CLI's whole build.
 */
async function gitRow(url: string, root: string, cliBuildMs: number): Promise<BenchRow> {
  const options = { allowLocal: true, allowPrivate: true }
  const samples: number[] = []
  for (let i = 0; i < RUNS; i++) {
    samples.push(
      await timed(async () => {
        const commit = await resolveCommit(url, 'HEAD', options)
        const { workspace } = await fetchCommit(url, commit, path.join(root, 'git-only'), '.', options)
        await removeWorkspace(workspace)
      }),
    )
  }
  return row({
    name: `build: git resolve + fetch alone, p50 (n=${RUNS}, part of the above)`,
    value: summarize(samples).p50,
    unit: 'ms',
    baseline: cliBuildMs,
    baselineName: 'docker build CLI, uncached',
  })
}

function deploymentController(pool: Pool, url: string, workRoot: string): ControllerManager {
  const idle: Reconciler = { reconcile: async () => ({}) }
  const admission = new PQueue({ concurrency: 1 })
  const deployments = (fence: Fence) =>
    createDeploymentReconciler({
      pool,
      runtime: fencedRuntime(createDockerRuntime(docker), fence),
      workRoot,
      allowLocalSources: true,
      allowLocalImages: true,
      allowPrivateSources: true,
      baseImages: localBaseImages(),
      buildMemoryBytes: 1024 * 1024 * 1024,
      admission,
      secretKeys: parseSecretKeys(`bench:${Buffer.alloc(32, 9).toString('base64')}`),
    })
  return new ControllerManager({
    pool,
    databaseUrl: url,
    log,
    metrics: createMetrics(),
    resyncSeconds: 3600,
    buildReconcilers: (fence) => ({ Project: idle, Environment: idle, Deployment: deployments(fence) }),
    onFatal: (error) => {
      throw error
    },
  })
}

/** Inserts a queued revision of the fixture with GREETING set, and resolves once it has an image. */
async function revisionInserter(pool: Pool, url: string): Promise<(greeting: string) => Promise<void>> {
  const { rows } = await pool.query(`
    with u as (insert into users (email, username, password_hash) values ('build@example.com', 'build', 'x') returning id),
         p as (insert into projects (owner_id, name) select id, 'bench-build' from u returning id),
         e as (insert into environments (project_id, name) select id, 'production' from p returning id, project_id)
    select id, project_id from e`)
  let revision = 0
  return async (greeting) => {
    const spec = {
      source: { git: { url, ref: 'main', path: '.' } },
      build: { dockerfile: 'Dockerfile', args: { GREETING: greeting }, target: null },
      env: {},
    }
    const inserted = await pool.query(
      `insert into deployments (project_id, environment_id, revision, spec, status)
       values ($1, $2, $3, $4, '{"phase":"Queued"}') returning id`,
      [rows[0].project_id, rows[0].id, ++revision, spec],
    )
    for (;;) {
      const { rows: status } = await pool.query('select status from deployments where id = $1', [
        inserted.rows[0].id,
      ])
      if (status[0].status.imageId) return
      if (status[0].status.phase === 'Failed') throw new Error(status[0].status.message)
      await delay(10)
    }
  }
}

/** The committed tree without .git: the context Gilgal sends the engine. */
async function exportedTree(repoDir: string, into: string): Promise<string> {
  await mkdir(into)
  await run('sh', ['-c', 'git -C "$1" archive HEAD | tar -x -C "$2"', 'sh', repoDir, into])
  return into
}

async function cliBuild(context: string, greeting: string): Promise<void> {
  await run('docker', [
    'build',
    '-q',
    '--build-arg',
    `GREETING=${greeting}`,
    '-t',
    `gilgal-bench/cli:${greeting}`,
    context,
  ])
}

async function timed(action: () => Promise<void>): Promise<number> {
  const started = performance.now()
  await action()
  return performance.now() - started
}

/** Untags what the bench built; the engine then prunes the untagged parents. */
async function removeBenchImages(): Promise<void> {
  const tags = (await docker.listImages()).flatMap((image) => image.RepoTags ?? [])
  for (const tag of tags) {
    if (tag.startsWith('gilgal-bench/cli:') || tag.startsWith('gilgal/bench-build:')) {
      await docker.getImage(tag).remove()
    }
  }
}
