/**
 * `npm run db:seed` beside a running `npm start`, both on the embedded PostgreSQL of one data dir:
 * the seed uses the server's cluster rather than fighting it for the lock, and the demo is deployed
 * for real by the server's controller: revisions that serve, a build that failed, a rollback.
 */
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { LOCAL_BASE } from '../helpers/base-images.js'
import { removeInstanceObjects } from '../helpers/docker.js'
import { freePort } from '../helpers/net.js'
import { exitWithin, runGilgal, type GilgalProcess } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

const instance = `seed-${process.env.GILGAL_TEST_RUN_ID ?? 'x'}-${process.pid}`
let workDir: string
let server: GilgalProcess | undefined

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-seed-'))
  await chmod(workDir, 0o755) // as root, the embedded PostgreSQL runs as a user that must reach it
})

after(async () => {
  server?.child.kill('SIGINT')
  if (server) await exitWithin(server, 30_000)
  await removeInstanceObjects(instance)
  await rm(workDir, { recursive: true, force: true })
})

interface EnvironmentStatus {
  phase: string
  urls: string[]
  activeDeployment?: { revision: number }
}

interface Revision {
  metadata: { revision: number }
  status: { phase: string; reason?: string; rolledBack?: boolean }
}

test('gilgal seed beside a running server deploys a demo with a failed build and a rollback, once', async () => {
  const port = String(await freePort())
  const env = {
    GILGAL_DATA_DIR: path.join(workDir, 'data'),
    GILGAL_EMBEDDED_PG_PORT: String(await freePort()),
    GILGAL_INSTANCE: instance,
    PORT: port,
    LOG_LEVEL: 'warn',
  }
  server = runGilgal(['server'], env)
  const started = await waitFor(
    'the server to answer /readyz',
    async () => {
      if (server!.child.exitCode !== null) return 'exited'
      return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? 'ready' : undefined
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  )
  assert.equal(started, 'ready', `gilgal exited early:\n${server.output()}`)

  const seeding = runGilgal(['seed', '--base-image', LOCAL_BASE.busybox], env)
  assert.equal((await exitWithin(seeding, 240_000)).code, 0, seeding.output())
  const output = seeding.output()
  assert.match(output, /shop\/production revision 1 \(v1\): Active/)
  assert.match(output, /shop\/production revision 2 \(v2\): Failed \(BuildFailed\)/)
  assert.match(output, /shop\/production revision 3 \(v3\): Failed \(\w+, rolled back\)/)
  assert.match(output, /blog\/production revision 1 \(v1\): Active/)

  const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'ada@example.com', password: 'analytical-engine' }),
  })
  assert.equal(login.status, 200)
  const { accessToken } = (await login.json()) as { accessToken: string }
  const headers = { authorization: `Bearer ${accessToken}` }
  const history = (await (
    await fetch(`http://127.0.0.1:${port}/api/projects/shop/deployments`, { headers })
  ).json()) as { items: Revision[] }
  const phases = history.items.map((d) => [d.metadata.revision, d.status.phase, d.status.rolledBack ?? false])
  assert.deepEqual(phases, [
    [3, 'Failed', true],
    [2, 'Failed', false],
    [1, 'Active', false],
  ])
  // The environment settles on revision 1 (the rollout of 3 ended), which serves v1's page.
  const settled = await waitFor(
    'the environment to settle on revision 1',
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/api/projects/shop/environments/production`, {
        headers,
      })
      const { status } = (await response.json()) as { status: EnvironmentStatus }
      return status.phase !== 'Progressing' && status.activeDeployment?.revision === 1 ? status : undefined
    },
    { timeoutMs: 30_000 },
  )
  const page = await fetch(settled.urls[0]!)
  assert.equal(page.status, 200)
  assert.match(await page.text(), /Deployed by Gilgal: v1\./)

  const again = runGilgal(['seed', '--base-image', LOCAL_BASE.busybox], env)
  assert.equal((await exitWithin(again, 60_000)).code, 0, again.output())
  assert.match(again.output(), /ada@example\.com exists already: left alone/)
  const after = (await (
    await fetch(`http://127.0.0.1:${port}/api/projects/shop/deployments`, { headers })
  ).json()) as { items: Revision[] }
  assert.equal(after.items.length, history.items.length, 'the second seed deployed nothing')
})

test('gilgal seed without a Docker engine says so in one line and writes nothing', async () => {
  const dataDir = path.join(workDir, 'no-docker')
  const seeding = runGilgal(['seed'], { GILGAL_DATA_DIR: dataDir, DOCKER_HOST: 'tcp://127.0.0.1:1' })
  assert.equal((await exitWithin(seeding, 30_000)).code, 1)
  assert.match(
    seeding.output(),
    /^gilgal: gilgal seed deploys its demo apps, and the Docker engine does not answer\n$/,
  )
  assert.deepEqual(await readdir(workDir).then((names) => names.includes('no-docker')), false)
})
