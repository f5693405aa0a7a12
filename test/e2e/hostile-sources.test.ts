import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { after, before, test } from 'node:test'
import { buildTestApp, client, registerUser, type TestUser } from '../helpers/app.js'
import { startTestController, type TestController } from '../helpers/controller.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'
import { docker } from '../helpers/docker.js'
import { waitFor } from '../helpers/wait.js'

// Repositories made to have the controller read or write host files, or connect inside the host's
// networks, applied through the API and built by the real controller on the real engine.
let db: TestDatabase
let app: FastifyInstance
let controller: TestController
let mallory: TestUser
let hostDir: string
let reposDir: string

before(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool, { allowLocalSources: true })
  // As in production: no remote inside the host's networks (local file:// sources stay allowed here).
  controller = await startTestController(db, 'hostile', { GILGAL_ALLOW_PRIVATE_SOURCES: 'false' })
  mallory = await registerUser(app)
  hostDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-host-'))
  await writeFile(path.join(hostDir, 'secret.txt'), `host secret ${process.pid}`)
  await mkdir(path.join(hostDir, 'app'))
  await writeFile(path.join(hostDir, 'app', 'index.html'), 'host files')
  reposDir = path.join(controller.config.dataDir, 'repos')
  const created = await client(app, mallory).post('/api/projects', { name: 'hostile' })
  assert.equal(created.statusCode, 201, created.body)
})

after(async () => {
  await controller.stop()
  await app.close()
  await db.drop()
  await rm(hostDir, { recursive: true, force: true })
})

/** A one-commit repository of `files` (text) and `links` (name -> target). */
async function repository(name: string, files: Record<string, string>, links: Record<string, string> = {}) {
  const dir = path.join(reposDir, name)
  await mkdir(dir, { recursive: true })
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text)
  for (const [link, target] of Object.entries(links)) execFileSync('ln', ['-s', target, path.join(dir, link)])
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim()
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', dir])
  git('add', '-A')
  git('-c', 'user.email=t@e.st', '-c', 'user.name=t', 'commit', '--quiet', '-m', name)
  return `file://${dir}`
}

/** Applies an environment with this git source through the API; answers its first revision's end. */
async function deploy(environment: string, git: Record<string, string>) {
  const applied = await app.inject({
    method: 'POST',
    url: '/api/apply',
    headers: { ...mallory.auth, 'content-type': 'application/json' },
    payload: {
      apiVersion: 'gilgal.dev/v1',
      kind: 'Environment',
      metadata: { name: environment, project: 'hostile' },
      spec: { source: { git }, healthCheck: { none: true } },
    },
  })
  assert.equal(applied.statusCode, 200, applied.body)
  const api = client(app, mallory)
  const revision = await waitFor(
    `${environment}'s build to end`,
    async () => {
      const [item] = (await api.get(`/api/projects/hostile/deployments?environment=${environment}`)).json()
        .items
      return item.status.phase === 'Failed' || item.status.imageId ? item : undefined
    },
    { timeoutMs: 30_000 },
  )
  const logs = (await api.get(`/api/deployments/${revision.metadata.id}/logs`)).json().items as Array<{
    message: string
  }>
  return {
    status: revision.status as Record<string, string>,
    logs: logs.map((line) => line.message).join('\n'),
  }
}

async function hostileImages(): Promise<number> {
  const project = (await client(app, mallory).get('/api/projects/hostile')).json().metadata.id
  return (await docker.listImages({ filters: { label: [`dev.gilgal.project=${project}`] } })).length
}

test('a build path through a link to a host directory fails; nothing of the host is sent or written', async () => {
  const url = await repository('up-link', { 'README.md': 'x' }, { up: hostDir })
  const { status } = await deploy('up-link', { url, path: 'up/app' })
  assert.deepEqual([status.phase, status.reason], ['Failed', 'SourceUnavailable'])
  assert.match(status.message!, /path up\/app leaves the repository/)
  assert.deepEqual(
    (await readdir(path.join(hostDir, 'app'))).sort(),
    ['index.html'],
    'nothing written on the host',
  )
  assert.equal(await hostileImages(), 0)
})

test('a Dockerfile that links to a host file fails without reading it', async () => {
  const url = await repository(
    'dockerfile-link',
    { 'index.html': 'x' },
    { Dockerfile: path.join(hostDir, 'secret.txt') },
  )
  const { status, logs } = await deploy('dockerfile-link', { url })
  assert.deepEqual([status.phase, status.reason], ['Failed', 'SourceUnavailable'])
  assert.match(status.message!, /Dockerfile leaves the repository/)
  assert.doesNotMatch(`${logs}\n${JSON.stringify(status)}`, /host secret/)
  assert.equal(await hostileImages(), 0)
})

test('a .dockerignore that is a link fails the build', async () => {
  const dockerfile = 'FROM gilgal-test/busybox:1\nCOPY . /src\n'
  const url = await repository(
    'ignore-link',
    { Dockerfile: dockerfile },
    { '.dockerignore': path.join(hostDir, 'secret.txt') },
  )
  const { status } = await deploy('ignore-link', { url })
  assert.deepEqual([status.phase, status.reason], ['Failed', 'BuildFailed'])
  assert.match(status.message!, /\.dockerignore must be a file of the repository/)
})

test('a link inside the context travels as a link: the image holds no host file', async () => {
  const dockerfile =
    'FROM gilgal-test/busybox:1\nCOPY . /src\nRUN ["/bin/busybox", "sh", "-c", "test ! -s /src/leak || cat /src/leak"]\n'
  const url = await repository(
    'inner-link',
    { Dockerfile: dockerfile },
    { leak: path.join(hostDir, 'secret.txt') },
  )
  const { status, logs } = await deploy('inner-link', { url })
  assert.ok(status.imageId, JSON.stringify(status))
  assert.doesNotMatch(logs, /host secret/)
})

test('a remote inside the host networks (the cloud metadata service, loopback) is refused before git runs', async () => {
  for (const [name, url] of [
    ['metadata', 'https://169.254.169.254/latest/meta-data.git'],
    ['loopback', 'https://2130706433/repo.git'],
  ] as const) {
    const { status } = await deploy(name, { url })
    assert.deepEqual([status.phase, status.reason], ['Failed', 'SourceUnavailable'], name)
    assert.match(status.message!, /an address inside this server's networks/, name)
  }
})
