/**
 * One embedded cluster, several processes: a second server refuses a cluster a live Gilgal runs, a
 * short-lived command (seed, migrate) shares it and leaves it running, and a server left running by a
 * process killed with SIGKILL is taken over by the next start and stopped by it.
 */
import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { startEmbeddedPostgres } from '../../src/store/embedded.js'
import { testLog } from '../helpers/db.js'
import { freePort, isListening } from '../helpers/net.js'
import { exitWithin, runGilgal, type GilgalProcess } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

let workDir: string

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-sharing-'))
  await chmod(workDir, 0o755) // as root, the embedded server runs as a user that must reach it
})

after(async () => {
  await rm(workDir, { recursive: true, force: true })
})

async function startServer(dataDir: string): Promise<{ gilgal: GilgalProcess; pgPort: number }> {
  const env = {
    GILGAL_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    GILGAL_EMBEDDED_PG_PORT: String(await freePort()),
    GILGAL_ROLE: 'api',
  }
  const gilgal = runGilgal(['server'], env)
  const ready = await waitFor(
    'the server to answer /readyz',
    async () => {
      if (gilgal.child.exitCode !== null) return 'exited'
      return (await fetch(`http://127.0.0.1:${env.PORT}/readyz`).catch(() => undefined))?.ok
        ? 'ready'
        : undefined
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  )
  assert.equal(ready, 'ready', gilgal.output())
  return { gilgal, pgPort: Number(env.GILGAL_EMBEDDED_PG_PORT) }
}

test('beside a running server, another server refuses its cluster and a short-lived command shares it', async () => {
  const dataDir = path.join(workDir, 'shared')
  const { gilgal, pgPort } = await startServer(dataDir)
  try {
    const options = { dir: path.join(dataDir, 'postgres'), port: await freePort(), log: testLog }
    await assert.rejects(startEmbeddedPostgres(options), /is run by another Gilgal process \(pid \d+\)/)
    const shared = await startEmbeddedPostgres({ ...options, shareRunning: true })
    assert.match(shared.url, new RegExp(`@127\\.0\\.0\\.1:${pgPort}/gilgal$`))
    await shared.stop()
    assert.equal(await isListening(pgPort), true, 'the sharer left the server running')
  } finally {
    gilgal.child.kill('SIGINT')
    assert.equal((await exitWithin(gilgal, 30_000)).code, 0)
  }
  assert.equal(await isListening(pgPort), false, 'its owner stopped it')
})

test('a server whose starter was killed with SIGKILL is taken over, and stopped by its new owner', async () => {
  const dataDir = path.join(workDir, 'orphan')
  const { gilgal, pgPort } = await startServer(dataDir)
  gilgal.child.kill('SIGKILL')
  await exitWithin(gilgal, 10_000)
  assert.equal(await isListening(pgPort), true, 'SIGKILL left PostgreSQL running')
  const adopted = await startEmbeddedPostgres({
    dir: path.join(dataDir, 'postgres'),
    port: await freePort(),
    log: testLog,
  })
  assert.match(adopted.url, new RegExp(`:${pgPort}/gilgal$`), 'the running server is used')
  await adopted.stop()
  assert.equal(await isListening(pgPort), false, 'the new owner stopped it')
})
