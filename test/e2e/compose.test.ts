/**
 * docker-compose.yml as a user starts it: Gilgal's own image built from the Dockerfile (on a local
 * Node runtime, since nothing can be pulled), PostgreSQL and Caddy, the Docker socket mounted. It
 * must answer /readyz, run as a non-root user that reaches the socket through the socket's group,
 * and deploy an app that then serves through Caddy.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { LOCAL_BASE } from '../helpers/base-images.js'
import { docker, removeInstanceObjects } from '../helpers/docker.js'
import { freePort } from '../helpers/net.js'
import { ensureStackImages, STACK_IMAGES } from '../helpers/stack-images.js'
import { get } from '../helpers/traffic.js'
import { waitFor } from '../helpers/wait.js'

const run = promisify(execFile)
const runId = process.env.GILGAL_TEST_RUN_ID ?? randomBytes(4).toString('hex')
const project = `gilgal-compose-${runId}`
const instance = `compose-${runId}`
const image = `gilgal-test/gilgal:${runId}`
let env: Record<string, string>
const startedAt = Date.now() - 1000 // Docker's Created is in whole seconds

const compose = (...args: string[]) =>
  run('docker-compose', ['-p', project, '-f', 'docker-compose.yml', ...args], {
    env,
    maxBuffer: 64 * 1024 * 1024,
  })

before(async () => {
  // The file names its containers (gilgal, gilgal-caddy): a stack already running here would clash.
  const clash = await docker.listContainers({
    all: true,
    filters: { name: ['^/gilgal$', '^/gilgal-caddy$'] },
  })
  assert.deepEqual(
    clash.map((c) => c.Names),
    [],
    'remove the running Gilgal compose stack first',
  )
  await ensureStackImages()
  env = {
    ...(process.env as Record<string, string>),
    GILGAL_BASE_IMAGE: STACK_IMAGES.runtime,
    GILGAL_POSTGRES_IMAGE: STACK_IMAGES.postgres,
    GILGAL_CADDY_IMAGE: STACK_IMAGES.caddy,
    GILGAL_IMAGE: image,
    GILGAL_JWT_SECRET: randomBytes(48).toString('base64'),
    GILGAL_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    POSTGRES_PASSWORD: randomBytes(12).toString('hex'),
    DOCKER_GID: String((await stat('/var/run/docker.sock')).gid),
    PORT: String(await freePort()),
    GILGAL_HTTP_PORT: String(await freePort()),
    GILGAL_HTTPS_PORT: String(await freePort()),
    GILGAL_TLS: 'off',
    GILGAL_INSTANCE: instance,
    GILGAL_ALLOW_LOCAL_IMAGES: 'true', // the app's image is made here, as no registry answers
  }
})

after(async () => {
  if (env) await compose('down', '--volumes', '--remove-orphans').catch(() => undefined)
  await removeInstanceObjects(instance)
  await docker
    .getImage(image)
    .remove({ force: true })
    .catch(() => undefined)
  // The build stage stays behind untagged; it carries the labels of the local base it was built on.
  const filters = { dangling: ['true'], label: ['gilgal.test.base=true'] }
  for (const leftover of await docker.listImages({ filters }))
    if (leftover.Created * 1000 >= startedAt)
      await docker
        .getImage(leftover.Id)
        .remove()
        .catch(() => undefined)
})

test('compose builds Gilgal, starts it non-root beside PostgreSQL and Caddy, and it deploys an app', async () => {
  await compose('build', 'gilgal')
  await compose('up', '--detach')
  const api = `http://127.0.0.1:${env.PORT}`
  await waitFor(
    '/readyz of the gilgal container',
    async () => (await fetch(`${api}/readyz`).catch(() => undefined))?.ok || undefined,
    {
      timeoutMs: 120_000,
      intervalMs: 250,
    },
  )

  const { stdout: uid } = await run('docker', ['exec', 'gilgal', 'id', '-u'])
  const { stdout: groups } = await run('docker', ['exec', 'gilgal', 'id', '-G'])
  assert.notEqual(uid.trim(), '0', 'Gilgal runs as a non-root user')
  assert.ok(
    groups.trim().split(' ').includes(env.DOCKER_GID!),
    `in the socket's group ${env.DOCKER_GID}: ${groups}`,
  )

  const session = await fetch(`${api}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'ops@example.com', username: 'ops', password: 'compose-in-ci' }),
  })
  assert.equal(session.status, 201, await session.clone().text())
  const { accessToken } = (await session.json()) as { accessToken: string }
  const authorization = `Bearer ${accessToken}`
  const applied = await fetch(`${api}/api/apply`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/yaml' },
    body: manifest(LOCAL_BASE.static),
  })
  assert.equal(applied.status, 200, await applied.clone().text())

  const url = await waitFor(
    'the environment to be Available',
    async () => {
      const response = await fetch(`${api}/api/projects/hello/environments/production`, {
        headers: { authorization },
      })
      const { status } = (await response.json()) as { status: { phase: string; urls?: string[] } }
      if (status.phase === 'Failed') throw new Error(`the environment failed: ${JSON.stringify(status)}`)
      return status.phase === 'Available' ? status.urls?.[0] : undefined
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  )
  const answer = await get(Number(env.GILGAL_HTTP_PORT), new URL(url).hostname)
  assert.equal(answer.status, 200)
  assert.match(answer.body, /served through compose/)
})

function manifest(staticImage: string): string {
  return `apiVersion: gilgal.dev/v1
kind: Project
metadata: { name: hello }
spec: {}
---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: production, project: hello }
spec:
  source: { image: ${staticImage} }
  port: 8080
  command: [sh, -c, 'echo served through compose > /tmp/index.html && exec httpd -f -p 8080 -h /tmp']
  healthCheck: { http: { path: / }, intervalSeconds: 1 }
  rollout: { drainSeconds: 1, monitorSeconds: 2 }
`
}
