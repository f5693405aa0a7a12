/**
 * `npm test`: global setup around node's test runner (Node 20 has no globalSetup hook).
 *
 * 1. Checks the Docker engine: tests never skip themselves silently, so without an engine the run
 *    fails and says how to start one, unless GILGAL_TEST_DOCKER=skip is set explicitly.
 *    With an engine, it builds the local base images the build fixtures use, once per machine.
 * 2. Provides PostgreSQL: DATABASE_URL if set, otherwise one embedded server for the whole run.
 * 3. Migrates a template database once; every test file clones its own from it (test/helpers/db.ts).
 * 4. Builds dist/ when CLI tests (test/cli/, test/e2e/cli-*) run: they drive the built `gilgal` command.
 * 5. Runs `node --import tsx --test` on the files (all of src/ and test/ but test/faults/, those named
 *    on the command line, or with --faults the fault suite), in groups (groupsOf), and exits with
 *    the worse code, after cleaning up. The Swarm tests (test/swarm/) run last, on an engine made a
 *    one-node Swarm for them and left as it was found.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { createLogger } from '../src/log.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/store/embedded.js'
import { migrate } from '../src/store/migrate.js'
import { ensureLocalBaseImages } from './helpers/base-images.js'
import { checkDockerEngine } from './helpers/docker.js'
import { databaseUrl } from './helpers/db.js'
import { freePort } from './helpers/net.js'
import { ensureSwarm, leaveSwarm } from './helpers/swarm.js'

const log = createLogger('warn')
const runId = randomBytes(4).toString('hex')

async function main(): Promise<number> {
  const skipDocker = process.env.GILGAL_TEST_DOCKER === 'skip'
  // `--faults` (npm run test:faults): the fault suite, which restarts shared parts; never by default.
  const named = process.argv.slice(2)
  let files =
    named[0] === '--faults'
      ? await findTestFiles(['test/faults'])
      : named.length > 0
        ? named
        : (await findTestFiles(['src', 'test'])).filter((file) => !/^test\/(faults|multinode)\//.test(file))
  if (skipDocker) {
    console.warn('WARNING: GILGAL_TEST_DOCKER=skip: the Docker tests (test/e2e/, test/swarm/) are NOT run.')
    files = files.filter((file) => !/^test\/(e2e|faults|swarm)\//.test(file))
  } else {
    const problem = await checkDockerEngine()
    if (problem) {
      console.error(`Docker tests need a running engine: ${problem}`)
      console.error('Start one (as root: setsid dockerd >/var/log/dockerd.log 2>&1 &), or set')
      console.error('GILGAL_TEST_DOCKER=skip to run without the Docker tests (CI never does).')
      return 1
    }
    await ensureLocalBaseImages()
  }

  // The CLI tests run the built `gilgal` command (dist/), as users get it from the package.
  if (files.some((file) => /^test\/(cli\/|e2e\/cli-)/.test(file))) await buildCli()

  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-test-'))
  await chmod(tempDir, 0o755) // as root, PostgreSQL runs as another user that must reach it
  let embedded: EmbeddedDatabase | undefined
  try {
    let adminUrl = process.env.DATABASE_URL
    if (!adminUrl) {
      embedded = await startEmbeddedPostgres({
        dir: path.join(tempDir, 'postgres'),
        port: await freePort(),
        log,
      })
      adminUrl = embedded.adminUrl
    }
    const template = `gilgal_template_${runId}`
    await createTemplate(adminUrl, template)
    try {
      const env = {
        GILGAL_TEST_ADMIN_URL: adminUrl,
        GILGAL_TEST_TEMPLATE_DB: template,
        GILGAL_TEST_RUN_ID: runId,
      }
      let code = 0
      for (const group of groupsOf(files)) if (!interrupted) code = Math.max(code, await runGroup(group, env))
      return code
    } finally {
      await dropDatabase(adminUrl, template)
    }
  } finally {
    await embedded?.stop()
    await rm(tempDir, { recursive: true, force: true })
  }
}

function buildCli(): Promise<void> {
  return new Promise((resolve, reject) => {
    const build = spawn('npm', ['run', 'build', '--silent'], { stdio: 'inherit' })
    build.on('error', reject)
    build.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited ${code}`))))
  })
}

async function findTestFiles(roots: string[]): Promise<string[]> {
  const found: string[] = []
  for (const root of roots) {
    for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
      const file = path.join(entry.parentPath, entry.name)
      if (entry.isFile() && file.endsWith('.test.ts') && !file.includes('node_modules')) found.push(file)
    }
  }
  return found.sort()
}

async function createTemplate(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (client) => client.query(`create database ${client.escapeIdentifier(name)}`))
  const pool = new pg.Pool({ connectionString: databaseUrl(adminUrl, name), max: 1 })
  try {
    await migrate(pool, log)
  } finally {
    await pool.end() // a template cannot be cloned while anyone is connected to it
  }
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (client) =>
    client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`),
  )
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/**
 * Test files run three at a time, except the Docker tests that time rollouts or look at the engine as
 * a whole (its dangling images, its events, Caddy under load): they run one at a time, after the
 * others, since beside them they would measure each other. The e2e files in BESIDE_OTHERS start
 * Gilgal processes of their own (their own instance, ports and data) and assert nothing about the
 * engine as a whole, so they run in the first group.
 */
const BESIDE_OTHERS = new Set([
  'test/e2e/compose.test.ts',
  'test/e2e/seed.test.ts',
  'test/e2e/cli-walkthrough.test.ts',
  'test/e2e/cli-rollout.test.ts',
])

interface Group {
  files: string[]
  concurrency: number
  /** The engine must be a Swarm manager for these (test/swarm/): made one for the group, left after. */
  swarm?: boolean
}

function groupsOf(files: string[]): Group[] {
  const relative = (file: string) => path.relative(process.cwd(), path.resolve(file))
  const under = (file: string, dirs: string[]) =>
    dirs.some((dir) => relative(file).startsWith(`test${path.sep}${dir}${path.sep}`))
  const alone = (file: string) => under(file, ['e2e', 'faults']) && !BESIDE_OTHERS.has(relative(file))
  const swarm = (file: string) => under(file, ['swarm'])
  const groups = [
    { files: files.filter((file) => !alone(file) && !swarm(file)), concurrency: 3 },
    { files: files.filter(alone), concurrency: 1 },
    // Last, so every other Docker test runs on a plain engine, as the docker runtime has it.
    { files: files.filter(swarm), concurrency: 1, swarm: true },
  ]
  return groups.filter((group) => group.files.length > 0)
}

async function runGroup(group: Group, env: Record<string, string>): Promise<number> {
  const initialized = group.swarm ? await ensureSwarm() : false
  try {
    return await runNodeTests(group.files, group.concurrency, env)
  } finally {
    if (initialized) leaveSwarm() // as it was found
  }
}

function runNodeTests(files: string[], concurrency: number, env: Record<string, string>): Promise<number> {
  const args = [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    ...files,
  ]
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ...env } })
  const forward = (signal: NodeJS.Signals) => {
    interrupted = true
    child.kill(signal)
  }
  process.on('SIGINT', forward).on('SIGTERM', forward)
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward)
      resolve(code ?? (signal ? 1 : 0))
    }),
  )
}

/** Ctrl-C ends the run: the next group does not start. */
let interrupted = false

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // One clear line (and its causes), not a stack trace: what could not be done, and why.
    console.error(`npm test could not set up: ${describeFailure(error)}`)
    process.exit(1)
  },
)

function describeFailure(error: unknown): string {
  const messages: string[] = []
  for (let current = error; current !== undefined && messages.length < 4;) {
    messages.push(current instanceof Error ? current.message : String(current))
    current = current instanceof Error ? current.cause : undefined
  }
  return messages.filter((message, i) => message && !messages[i - 1]?.includes(message)).join(': ')
}
