import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { createBuildWorld, type BuildWorld } from '../helpers/builds.js'
import { docker } from '../helpers/docker.js'

// Repositories built to make the controller read or write host files, built by the real deployment
// reconciler on the real engine.
let world: BuildWorld
let hostDir: string

before(async () => {
  world = await createBuildWorld('hostile')
  hostDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-host-'))
  await writeFile(path.join(hostDir, 'secret.txt'), `host secret ${process.pid}`)
  await mkdir(path.join(hostDir, 'app'))
  await writeFile(path.join(hostDir, 'app', 'index.html'), 'host files')
})

after(async () => {
  await rm(hostDir, { recursive: true, force: true })
  await world.close()
})

/** A one-commit repository of `files` (text) and `links` (name -> target). */
async function repository(name: string, files: Record<string, string>, links: Record<string, string> = {}) {
  const dir = path.join(world.root, name)
  await mkdir(dir, { recursive: true })
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true })
    await writeFile(path.join(dir, file), text)
  }
  for (const [link, target] of Object.entries(links)) execFileSync('ln', ['-s', target, path.join(dir, link)])
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim()
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', dir])
  git('add', '-A')
  git('-c', 'user.email=t@e.st', '-c', 'user.name=t', 'commit', '--quiet', '-m', name)
  return `file://${dir}`
}

async function projectImages(): Promise<number> {
  return (await docker.listImages({ filters: { label: [`dev.gilgal.project=${world.projectId}`] } })).length
}

test('a build path through a link to a host directory fails; nothing of the host is sent or written', async () => {
  const url = await repository('up-link', { 'README.md': 'x' }, { up: hostDir })
  const id = await world.revision({ git: { url, path: 'up/app' } })
  await world.reconcile(id)
  const status = await world.statusOf(id)
  assert.deepEqual([status.phase, status.reason], ['Failed', 'SourceUnavailable'])
  assert.match(String(status.message), /path up\/app leaves the repository/)
  assert.deepEqual((await readdir(path.join(hostDir, 'app'))).sort(), ['index.html'], 'no Dockerfile written')
  assert.equal(await projectImages(), 0)
})

test('a Dockerfile that links to a host file fails without reading it', async () => {
  const url = await repository(
    'dockerfile-link',
    { 'index.html': 'x' },
    { Dockerfile: path.join(hostDir, 'secret.txt') },
  )
  const id = await world.revision({ git: { url } })
  await world.reconcile(id)
  const status = await world.statusOf(id)
  assert.deepEqual([status.phase, status.reason], ['Failed', 'SourceUnavailable'])
  assert.match(String(status.message), /Dockerfile leaves the repository/)
  const logs = (await world.logsOf(id)).join('\n')
  assert.doesNotMatch(`${logs}\n${JSON.stringify(status)}`, /host secret/)
  assert.equal(await projectImages(), 0)
})

test('a .dockerignore that is a link is refused: the build fails', async () => {
  const dockerfile = 'FROM gilgal-test/busybox:1\nCOPY . /src\n'
  const url = await repository(
    'ignore-link',
    { Dockerfile: dockerfile },
    { '.dockerignore': path.join(hostDir, 'secret.txt') },
  )
  const id = await world.revision({ git: { url } })
  await world.reconcile(id)
  const status = await world.statusOf(id)
  assert.deepEqual([status.phase, status.reason], ['Failed', 'BuildFailed'])
  assert.match(String(status.message), /\.dockerignore must be a file of the repository/)
})

test('a link inside the context travels as a link: the image holds no host file', async () => {
  const dockerfile =
    'FROM gilgal-test/busybox:1\nCOPY . /src\nRUN ["/bin/busybox", "sh", "-c", "test ! -s /src/leak || cat /src/leak"]\n'
  const url = await repository(
    'inner-link',
    { Dockerfile: dockerfile },
    { leak: path.join(hostDir, 'secret.txt') },
  )
  const id = await world.revision({ git: { url } })
  await world.reconcile(id)
  const status = await world.statusOf(id)
  assert.ok(status.imageId, JSON.stringify(status))
  assert.doesNotMatch((await world.logsOf(id)).join('\n'), /host secret/)
})
