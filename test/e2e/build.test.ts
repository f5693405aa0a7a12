import assert from 'node:assert/strict'
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { createDockerClient } from '../../src/runtime/docker.js'
import { BuildCancelledError, BuildError, buildImage, type BuildLine } from '../../src/runtime/build.js'
import { testEnv } from '../helpers/db.js'
import { docker, removeTestObjects, testLabels } from '../helpers/docker.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const engine = createDockerClient(process.env.DOCKER_HOST)
let context: string

before(async () => {
  context = await mkdtemp(path.join(os.tmpdir(), 'gilgal-build-'))
  await copyFile('/bin/busybox', path.join(context, 'busybox'))
})

after(async () => {
  await rm(context, { recursive: true, force: true })
  await removeTestObjects()
})

async function dockerfile(name: string, ...steps: string[]): Promise<string> {
  await writeFile(
    path.join(context, name),
    ['FROM scratch', 'COPY busybox /bin/busybox', ...steps].join('\n'),
  )
  return name
}

test('a build streams its lines, labels the image and answers its id', async () => {
  const lines: BuildLine[] = []
  const imageId = await buildImage(
    engine,
    {
      contextDir: context,
      dockerfile: await dockerfile('ok.Dockerfile', 'ARG GREETING', 'RUN ["/bin/busybox", "echo", "built"]'),
      tag: `gilgal-test/build-ok:${runId}`,
      labels: testLabels({ 'dev.gilgal.managed': 'true' }),
      buildArgs: { GREETING: 'hello' },
      memoryBytes: 256 * 1024 * 1024,
      cpus: 1,
    },
    (line) => lines.push(line),
  )
  assert.match(imageId, /^sha256:[0-9a-f]{64}$/)
  const image = await docker.getImage(imageId).inspect()
  assert.equal(image.Config.Labels['gilgal.test'], runId)
  assert.ok(
    lines.some((line) => line.message.includes('built')),
    'the RUN output arrived',
  )
  assert.ok(lines.every((line) => line.message.trim() !== ''))
})

test('a failing step is a BuildError carrying the last lines', async () => {
  const lines: BuildLine[] = []
  const request = {
    contextDir: context,
    dockerfile: await dockerfile(
      'fail.Dockerfile',
      'RUN ["/bin/busybox", "sh", "-c", "echo about to fail; exit 3"]',
    ),
    tag: `gilgal-test/build-fail:${runId}`,
    labels: testLabels(),
  }
  await assert.rejects(
    buildImage(engine, request, (line) => lines.push(line)),
    (error: unknown) => {
      assert.ok(error instanceof BuildError)
      assert.match(error.message, /non-zero code: 3/)
      assert.ok(error.lastLines.some((line) => line.includes('about to fail')))
      return true
    },
  )
  assert.ok(lines.some((line) => line.stream === 'stderr'))
})

test('aborting cancels the build within 2 s and leaves no build container behind', async () => {
  const controller = new AbortController()
  const started = buildImage(
    engine,
    {
      contextDir: context,
      dockerfile: await dockerfile(
        'slow.Dockerfile',
        `RUN ["/bin/busybox", "sh", "-c", "echo sleeping-${runId}; sleep 60"]`,
      ),
      tag: `gilgal-test/build-slow:${runId}`,
      labels: testLabels(),
      signal: controller.signal,
    },
    (line) => {
      if (line.message.includes(`sleeping-${runId}`)) controller.abort()
    },
  )
  const outcome = started.then(
    () => undefined,
    (error: unknown) => error,
  )
  const abortedAt = await waitFor(
    'the slow step to start',
    async () => (controller.signal.aborted ? performance.now() : undefined),
    {
      timeoutMs: 30_000,
    },
  )
  assert.ok((await outcome) instanceof BuildCancelledError)
  assert.ok(performance.now() - abortedAt < 2000, 'cancelled within 2 s')
  await waitFor(
    'the build container to be gone',
    async () => {
      const containers = await docker.listContainers({ all: true })
      return containers.some((c) => c.Command.includes(`sleeping-${runId}`)) ? undefined : true
    },
    { timeoutMs: 15_000 },
  )
})
