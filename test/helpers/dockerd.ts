import { execFile, spawn } from 'node:child_process'
import { open, readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { docker } from './docker.js'
import { waitFor } from './wait.js'

const run = promisify(execFile)
const PID_FILE = '/var/run/docker.pid'
const LOG_FILE = '/var/log/dockerd.log'

/**
 * Restarts the machine's Docker daemon the way it runs: through systemd when systemd manages it,
 * otherwise by stopping the dockerd process (SIGTERM: it stops its containers as on a reboot) and
 * starting the same command line again, detached, logging where CI's own start logs. Resolves once
 * the engine answers again, with when it went down and when it came back (performance.now()).
 */
export async function restartDockerDaemon(): Promise<{ downAt: number; upAt: number }> {
  if (process.getuid?.() !== 0) throw new Error('restarting the Docker daemon needs root')
  const downAt = performance.now()
  if (await isSystemdUnitActive('docker')) {
    await run('systemctl', ['restart', 'docker'])
  } else {
    const pid = Number((await readFile(PID_FILE, 'utf8')).trim())
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean)
    process.kill(pid, 'SIGTERM')
    await waitFor('dockerd to exit', async () => ((await isRunning(pid)) ? undefined : true), {
      timeoutMs: 60_000,
      intervalMs: 100,
    })
    const log = await open(LOG_FILE, 'a')
    // detached: a session of its own (setsid), so it outlives this test process, as CI started it.
    spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log.fd, log.fd] }).unref()
    await log.close()
  }
  await waitFor('dockerd to answer', async () => ((await docker.ping()) ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 100,
  })
  return { downAt, upAt: performance.now() }
}

async function isSystemdUnitActive(unit: string): Promise<boolean> {
  try {
    await run('systemctl', ['is-active', '--quiet', unit])
    return true
  } catch {
    return false
  }
}

/** Alive and not a zombie (a daemon this process started and nobody has reaped yet). */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  return stat !== undefined && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
}
