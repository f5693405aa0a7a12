/**
 * Fault: an Active revision starts crash-looping (its app serves once, then exits at every start).
 * Docker restarts it with a growing backoff; the environment must say CrashLoop, and the controller
 * must not spin on it: its CPU stays under 5 % while the loop goes on.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { LABELS } from '../../src/runtime/labels.js'
import { assertConverged, startController, type ControllerProcess } from '../helpers/converge.js'
import { testEnv } from '../helpers/db.js'
import { buildBusyboxImage, docker, removeTestObjects } from '../helpers/docker.js'
import { exitWithin } from '../helpers/process.js'
import { createRolloutWorld, FAST_ROLLOUT, type RolloutWorld } from '../helpers/rollouts.js'
import { waitFor } from '../helpers/wait.js'

const { runId } = testEnv()
const image = `gilgal-test/looping:${runId}`
// Serves for 8 s after its first start (long enough to become Active), then exits at every start.
const SERVES_ONCE = [
  'sh',
  '-c',
  'if [ -f /www/.started ]; then exit 1; fi; touch /www/.started; /bin/busybox httpd -f -p 8080 -h /www & sleep 8; exit 1',
]
const CLOCK_TICKS = 100 // USER_HZ: /proc/<pid>/stat counts CPU time in these
let world: RolloutWorld
let dataDir: string
let controller: ControllerProcess | undefined

before(async () => {
  await buildBusyboxImage(image, 'once\n')
  world = await createRolloutWorld('looping', { replicas: 2, rollout: FAST_ROLLOUT })
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-looping-'))
})

after(async () => {
  controller?.child.kill('SIGTERM')
  if (controller) await exitWithin(controller, 30_000)
  await world.close()
  await removeTestObjects()
  await rm(dataDir, { recursive: true, force: true })
})

/** The process's CPU seconds so far (user + system), from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** How many times the controller has reconciled environments, from its /metrics. */
async function environmentReconciles(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const counts = [...text.matchAll(/^gilgal_reconcile_total\{kind="Environment",[^}]*\} (\d+)/gm)]
  return counts.reduce((sum, match) => sum + Number(match[1]), 0)
}

/** Container starts of the revision between two instants, from Docker's event log. */
async function startsBetween(revision: string, since: number, until: number): Promise<number> {
  const label = [`${LABELS.deployment}=${revision}`]
  const filters = JSON.stringify({ type: ['container'], event: ['start'], label })
  const stream = await docker.getEvents({
    since: Math.floor(since / 1000),
    until: Math.ceil(until / 1000),
    filters,
  })
  let text = ''
  for await (const chunk of stream) text += String(chunk)
  return text.split('\n').filter((line) => line.trim() !== '').length
}

test('a crash-looping Active revision shows CrashLoop, Docker backs off, and the controller does not spin', async () => {
  controller = await startController(world, dataDir)
  const revision = await world.deploy(image, { external: true, command: SERVES_ONCE })
  await assertConverged(world, revision, 'once\n')
  const status = await waitFor(
    'the environment to report the crash loop',
    async () => {
      const current = await world.environmentStatus()
      return current.reason === 'CrashLoop' ? current : undefined
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  )
  assert.equal(status.phase, 'Degraded')

  const reconciles = () => environmentReconciles(controller!.port)
  const window = {
    cpu: await cpuSeconds(controller.child.pid!),
    reconciles: await reconciles(),
    at: performance.now(),
    since: Date.now(),
  }
  await delay(10_000) // the window the controller's CPU is measured over: not a wait for a condition
  const seconds = (performance.now() - window.at) / 1000
  const cpu = (await cpuSeconds(controller.child.pid!)) - window.cpu
  const starts = await startsBetween(revision, window.since, Date.now())
  const reconciled = (await reconciles()) - window.reconciles
  console.log(
    `crash loop: controller CPU ${((100 * cpu) / seconds).toFixed(1)} % over ${seconds.toFixed(1)} s, ` +
      `${reconciled} environment reconciles, ${starts} container starts meanwhile`,
  )
  assert.ok(cpu / seconds < 0.05, `the controller used ${((100 * cpu) / seconds).toFixed(1)} % CPU`)
  // Woken by each container's start and death (and a probe or so in between), plus a slow recheck:
  // not every 100 ms, which is what a crash loop cost before (48 reconciles in 10 s here).
  const bound = 3 * starts + seconds
  assert.ok(reconciled <= bound, `${reconciled} reconciles for ${starts} starts in ${seconds.toFixed(1)} s`)
  // Docker's backoff doubles from 100 ms: 10 s hold a handful of starts per replica, not a hundred.
  assert.ok(starts >= 1 && starts <= 2 * 8, `${starts} starts of 2 replicas in ${seconds.toFixed(1)} s`)
})
