import assert from 'node:assert/strict'
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { startEmbeddedPostgres } from '../../src/store/embedded.js'
import { createTestDatabase, testLog } from '../helpers/db.js'
import { freePort, isListening } from '../helpers/net.js'
import { exitWithin, runGilgal, runScript, type GilgalProcess } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

let workDir: string

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-server-'))
  await chmod(workDir, 0o755) // as root, the embedded server runs as a user that must reach it
})

after(async () => {
  await rm(workDir, { recursive: true, force: true })
})

async function waitUntilReady(gilgal: GilgalProcess, port: number): Promise<void> {
  await waitFor(
    `/readyz on port ${port}`,
    async () => {
      if (gilgal.child.exitCode !== null) throw new Error(`gilgal exited early:\n${gilgal.output()}`)
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined)
      return response?.status === 200 ? true : undefined
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  )
}

function logMessages(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg: string }).msg)
}

describe('embedded PostgreSQL', () => {
  test('a new directory is initialised; a second start reuses its data', async () => {
    const dir = path.join(workDir, 'embedded', 'postgres')
    const port = await freePort()
    const first = await startEmbeddedPostgres({ dir, port, log: testLog })
    const client = new pg.Client({ connectionString: first.url })
    await client.connect()
    await client.query('create table kept (value text)')
    await client.query("insert into kept values ('still here')")
    await client.end()
    await first.stop()
    assert.equal(await isListening(port), false, 'stopped server no longer listens')

    const second = await startEmbeddedPostgres({ dir, port, log: testLog })
    try {
      assert.equal(second.url, first.url, 'the same password is reused')
      const reader = new pg.Client({ connectionString: second.url })
      await reader.connect()
      const { rows } = await reader.query('select value from kept')
      await reader.end()
      assert.deepEqual(rows, [{ value: 'still here' }])
    } finally {
      await second.stop()
    }
  })

  test('a process that crashes does not leave its PostgreSQL running', async () => {
    const dir = path.join(workDir, 'crash', 'postgres')
    const port = await freePort()
    const script = fileURLToPath(new URL('../fixtures/crash-after-embedded-start.ts', import.meta.url))
    const crashed = runScript(script, [dir, String(port)])
    assert.equal((await exitWithin(crashed, 60_000)).code, 1)
    assert.match(crashed.output(), /started\n[\s\S]*simulated crash/)
    await waitFor('the orphaned server to stop', async () => ((await isListening(port)) ? undefined : true))
    const restarted = await startEmbeddedPostgres({ dir, port, log: testLog })
    await restarted.stop()
  })
})

describe('gilgal server', () => {
  test('runs on embedded PostgreSQL, stops on SIGINT, and a second start reuses the data', async () => {
    const dataDir = path.join(workDir, 'data')
    const env = {
      GILGAL_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      GILGAL_EMBEDDED_PG_PORT: String(await freePort()),
    }
    const first = runGilgal(['server'], env)
    await waitUntilReady(first, Number(env.PORT))
    const version = (await (await fetch(`http://127.0.0.1:${env.PORT}/version`)).json()) as {
      version: string
    }
    assert.equal(version.version, JSON.parse(await readFile('package.json', 'utf8')).version)
    first.child.kill('SIGINT')
    assert.deepEqual(await exitWithin(first, 30_000), { code: 0, signal: null })
    assert.equal(await isListening(Number(env.GILGAL_EMBEDDED_PG_PORT)), false, 'embedded PostgreSQL stopped')
    const firstLog = logMessages(first.output())
    assert.ok(firstLog.includes('initialising embedded postgres'))
    assert.ok(firstLog.includes('migration applied'))
    assert.ok(firstLog.includes('gilgal stopped'))
    // PostgreSQL stops last: nothing in the pool lost its server while the API was still draining.
    assert.ok(!firstLog.includes('idle database client failed'), first.output())
    const secrets = await readFile(path.join(dataDir, 'secrets.json'), 'utf8')

    const second = runGilgal(['server'], env)
    await waitUntilReady(second, Number(env.PORT))
    second.child.kill('SIGTERM')
    assert.deepEqual(await exitWithin(second, 30_000), { code: 0, signal: null })
    const secondLog = logMessages(second.output())
    assert.ok(!secondLog.includes('initialising embedded postgres'), 'the cluster is reused')
    assert.ok(!secondLog.includes('migration applied'), 'nothing is migrated twice')
    assert.equal(
      await readFile(path.join(dataDir, 'secrets.json'), 'utf8'),
      secrets,
      'dev secrets are reused',
    )
  })

  test('with DATABASE_URL it uses that server and starts no embedded one', async () => {
    const db = await createTestDatabase({ migrated: false })
    const dataDir = path.join(workDir, 'external')
    const port = String(await freePort())
    const gilgal = runGilgal(['server'], { DATABASE_URL: db.url, GILGAL_DATA_DIR: dataDir, PORT: port })
    try {
      await waitUntilReady(gilgal, Number(port))
      const { rows } = await db.pool.query('select count(*)::int as count from schema_migrations')
      assert.ok(rows[0].count >= 1, 'the given database was migrated')
      assert.ok(!(await readdir(dataDir)).includes('postgres'), 'no embedded cluster was created')
    } finally {
      gilgal.child.kill('SIGTERM')
      assert.equal((await exitWithin(gilgal, 30_000)).code, 0)
      await db.drop()
    }
  })

  test('GILGAL_ROLE=controller serves only health and metrics, and leads; GILGAL_ROLE=api never campaigns', async () => {
    const db = await createTestDatabase()
    const port = String(await freePort())
    const base = {
      DATABASE_URL: db.url,
      GILGAL_DATA_DIR: path.join(workDir, 'roles'),
      PORT: port,
      LOG_LEVEL: 'warn',
    }
    const controller = runGilgal(['server'], { ...base, GILGAL_ROLE: 'controller' })
    try {
      await waitUntilReady(controller, Number(port))
      const metrics = await waitFor('the controller to lead', async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
        return /^gilgal_leader 1$/m.test(text) ? text : undefined
      })
      assert.match(metrics, /gilgal_workqueue_depth\{kind="Environment"\}/)
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/projects`)).status, 404)
    } finally {
      controller.child.kill('SIGTERM')
      assert.equal((await exitWithin(controller, 30_000)).code, 0)
    }
    const { rows: released } = await db.pool.query(
      'select expires_at <= now() as expired from controller_leases',
    )
    assert.deepEqual(released, [{ expired: true }], 'a clean stop released the lease')
    await db.pool.query('delete from controller_leases')

    const api = runGilgal(['server'], { ...base, GILGAL_ROLE: 'api' })
    try {
      await waitUntilReady(api, Number(port))
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/openapi.json`)).status, 200)
      const { rowCount } = await db.pool.query('select 1 from controller_leases')
      assert.equal(rowCount, 0, 'an API-only process never campaigns')
    } finally {
      api.child.kill('SIGTERM')
      assert.equal((await exitWithin(api, 30_000)).code, 0)
      await db.drop()
    }
  })

  test('a bad configuration value stops it with one clear line', async () => {
    const gilgal = runGilgal(['server'], { PORT: 'eighty', GILGAL_DATA_DIR: path.join(workDir, 'bad') })
    assert.equal((await exitWithin(gilgal, 30_000)).code, 1)
    assert.equal(gilgal.output(), 'gilgal: PORT="eighty" is invalid: expected a TCP port (0-65535)\n')
  })

  test('gilgal migrate applies migrations to DATABASE_URL and exits', async () => {
    const db = await createTestDatabase({ migrated: false })
    try {
      const gilgal = runGilgal(['migrate'], {
        DATABASE_URL: db.url,
        GILGAL_DATA_DIR: path.join(workDir, 'm'),
      })
      assert.equal((await exitWithin(gilgal, 30_000)).code, 0)
      assert.ok(logMessages(gilgal.output()).includes('migrations applied'))
      const { rows } = await db.pool.query("select to_regclass('deployments') is not null as exists")
      assert.equal(rows[0].exists, true)
    } finally {
      await db.drop()
    }
  })
})
