import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'
import { WatchHub } from '../../src/api/watch-hub.js'
import { buildTestApp } from '../helpers/app.js'
import { LOCAL_BASE } from '../helpers/base-images.js'
import { serveForCli, type CliEnv } from '../helpers/cli.js'
import { startTestController, type TestController } from '../helpers/controller.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'

// README's five-minute walkthrough, run as written against a whole Gilgal (API, controller, Docker).
// What differs from a laptop: `gilgal` is the built command, `npm run build && npm link` is already
// done (test/run.ts builds), the API is not on localhost:3000, and node:20-alpine cannot be pulled
// here, so the example manifests name the local Node image instead.
const root = fileURLToPath(new URL('../..', import.meta.url))
let db: TestDatabase
let controller: TestController
let hub: WatchHub
let server: CliEnv & { close(): Promise<void> }

before(async () => {
  db = await createTestDatabase()
  controller = await startTestController(db, 'walkthrough')
  hub = new WatchHub(db.url, testLog)
  await hub.start()
  server = await serveForCli(await buildTestApp(db.pool, { runtime: controller.runtime, watch: hub }))
})

after(async () => {
  await server?.close()
  await hub?.stop()
  await controller?.stop()
  await db?.drop()
})

async function walkthroughScript(): Promise<string> {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8')
  const section = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme)
  assert.ok(section, 'README has the walkthrough between its markers')
  return section[1]!.replaceAll('localhost:3000', new URL(server.url).host)
}

/** The example manifests the walkthrough applies, in a directory of their own, naming the local image. */
async function examplesIn(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'manifests/examples'), { recursive: true })
  for (const name of ['hello.yaml', 'hello-broken.yaml']) {
    const text = await readFile(path.join(root, 'manifests/examples', name), 'utf8')
    assert.match(text, /image: node:20-alpine/)
    await writeFile(
      path.join(dir, 'manifests/examples', name),
      text.replace('node:20-alpine', LOCAL_BASE.node),
    )
  }
}

function bash(script: string, cwd: string): Promise<{ code: number | null; output: string }> {
  const prelude = [
    'set -euo pipefail',
    `gilgal() { node ${JSON.stringify(path.join(root, 'dist/cli/index.js'))} "$@"; }`,
    'npm() { :; }', // build and link: done already
  ].join('\n')
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `${prelude}\n${script}`], {
      cwd,
      env: {
        PATH: process.env.PATH,
        HOME: server.configDir,
        GILGAL_URL: server.url,
        GILGAL_CONFIG_DIR: server.configDir,
      },
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('close', (code) => resolve({ code, output }))
  })
}

test("README's walkthrough runs as written: a good deploy, then a bad one rolled back", async () => {
  await examplesIn(server.configDir)
  const { code, output } = await bash(await walkthroughScript(), server.configDir)
  assert.equal(code, 0, output)
  assert.match(output, /logged in to .* as ada/)
  assert.match(output, /revision 1: Active, environment Available, 1\/1 ready/)
  assert.match(output, /hello\s+production\s+Available\s+1\/1\s+r1/)
  assert.match(output, /gilgal: revision 2 failed: HealthCheckFailed, rolled back/)
  assert.match(output, /refused: revision 2 was rolled back/)
  assert.match(output, /r2\s+Failed\s+HealthCheckFailed/)
  assert.match(output, /r1\s+Active/)
  assert.match(output, /HealthCheckFailed\s+deployment\/production\/r2/)
})
