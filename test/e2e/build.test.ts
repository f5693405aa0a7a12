import assert from 'node:assert/strict'
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { createDockerClient } from '../../src/runtime/docker.js'
import { createDockerRuntime } from '../../src/runtime/docker-runtime.js'
import { BuildCancelledError, BuildError } from '../../src/runtime/images/build.js'
import { ownership } from '../../src/runtime/labels.js'
import type { ImageBuild, ProgressLine } from '../../src/runtime/runtime.js'
import { testEnv } from '../helpers/db.js'
import { docker, removeTestObjects, testLabels } from '../helpers/docker.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const runtime = createDockerRuntime(
  createDockerClient(process.env.DOCKER_HOST),
  ownership(`t-${runId}-build`),
)
let context: string

before(async () => {
  context = await mkdtemp(path.join(os.tmpdir(), 'gilgal-build-'))
  await copyFile('/bin/busybox', path.join(context, 'busybox'))
})

after(async () => {
  await rm(context, { recursive: true, force: true })
  await removeTestObjects()
})

function build(tag: string, steps: string[], extra: Partial<ImageBuild> = {}): ImageBuild {
  return {
    contextDir: context,
    dockerfile: ['FROM scratch', 'COPY busybox /bin/busybox', ...steps].join('\n'),
    tag: `gilgal-test/${tag}:${runId}`,
    labels: testLabels(),
    buildArgs: {},
    target: null,
    ...extra,
  }
}

test('a build streams its lines, labels the image and answers its id', async () => {
  const lines: ProgressLine[] = []
  const steps = ['ARG GREETING', 'RUN ["/bin/busybox", "echo", "built"]']
  const request = build('build-ok', steps, {
    buildArgs: { GREETING: 'hello' },
    memoryBytes: 256 * 1024 ** 2,
    cpus: 1,
  })
  const imageId = await runtime.buildImage(request, (line) => lines.push(line))
  assert.match(imageId, /^sha256:[0-9a-f]{64}$/)
  const image = await docker.getImage(imageId).inspect()
  assert.equal(image.Config.Labels['gilgal.test'], runId)
  assert.equal(image.Config.Labels['dev.gilgal.managed'], 'true', 'the runtime adds the installation labels')
  assert.equal(image.Config.Labels['dev.gilgal.instance'], `t-${runId}-build`)
  assert.deepEqual(
    await readdir(context),
    ['busybox'],
    'the Dockerfile is sent, never written into the context',
  )
  assert.ok(
    lines.some((line) => line.message.includes('built')),
    'the RUN output arrived',
  )
  assert.ok(lines.every((line) => line.message.trim() !== ''))
})

test('a failing step is a BuildError carrying the last lines', async () => {
  const lines: ProgressLine[] = []
  const request = build('build-fail', ['RUN ["/bin/busybox", "sh", "-c", "echo about to fail; exit 3"]'])
  await assert.rejects(
    runtime.buildImage(request, (line) => lines.push(line)),
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
  const steps = [`RUN ["/bin/busybox", "sh", "-c", "echo sleeping-${runId}; sleep 60"]`]
  const started = runtime.buildImage(build('build-slow', steps, { signal: controller.signal }), (line) => {
    if (line.message.includes(`sleeping-${runId}`)) controller.abort()
  })
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

test("a Dockerfile that sets Gilgal's own labels, even through a build arg, fails and leaves no image", async () => {
  const tag = `gilgal-test/build-forged:${runId}`
  const request = build('build-forged', ['ARG KEY', 'LABEL ${KEY}=someone-else'], {
    buildArgs: { KEY: 'dev.gilgal.project' },
  })
  await assert.rejects(
    runtime.buildImage(request, () => undefined),
    (error: unknown) => {
      assert.ok(error instanceof BuildError)
      assert.match(error.message, /sets Gilgal's own labels \(dev\.gilgal\.project\)/)
      return true
    },
  )
  await assert.rejects(docker.getImage(tag).inspect(), /no such image/i)
})

test("with pull, a FROM image the engine holds but no registry gives is not used: another project's image stays out of reach", async () => {
  const request = {
    ...build('build-pull', []),
    dockerfile: 'FROM gilgal-test/busybox:1\nRUN ["/bin/busybox", "true"]\n',
    pull: true,
  }
  await assert.rejects(
    runtime.buildImage(request, () => undefined),
    (error: unknown) => {
      assert.ok(error instanceof BuildError, String(error))
      assert.match(error.message, /pull|denied|not found|no such host|lookup/i)
      return true
    },
  )
  const local = { ...request, pull: false, tag: `gilgal-test/build-local:${runId}` }
  assert.match(
    await runtime.buildImage(local, () => undefined),
    /^sha256:/,
    'without pull, the engine copy serves',
  )
})
