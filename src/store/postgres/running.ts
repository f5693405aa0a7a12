import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import type { ServerProcess } from './server-process.js'

export interface FoundServer {
  readonly pid: number
  readonly port: number
}

/**
 * A server already running on this cluster, from its postmaster.pid (pid on line 1, port on line 4),
 * if that process lives and `answers` on the port (a stale file's pid may belong to anything now).
 */
export async function findRunningServer(
  dataDir: string,
  answers: (port: number) => Promise<boolean>,
): Promise<FoundServer | undefined> {
  const lines = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').then(
    (text) => text.split('\n'),
    () => undefined,
  )
  if (!lines) return undefined
  const [pid, port] = [Number(lines[0]), Number(lines[3])]
  if (!Number.isInteger(pid) || !Number.isInteger(port) || !isAlive(pid)) return undefined
  return (await answers(port)) ? { pid, port } : undefined
}

/** The pid in an owner file, if any: the Gilgal process that started the cluster's server. */
export async function readOwner(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined)
  const pid = Number(text?.trim())
  return text !== undefined && Number.isInteger(pid) ? pid : undefined
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const ADOPTED_STOP_TIMEOUT_MS = 30_000 // as long as a graceful stop of a server we started may take

/**
 * A server whose starter is gone (killed with SIGKILL: its exit handler never ran), taken over:
 * stopped by signal, since it is not our child, and waited for until its pid is gone.
 */
export function adoptServer(found: FoundServer): ServerProcess {
  const signal = () => {
    if (isAlive(found.pid)) process.kill(found.pid, 'SIGINT')
  }
  return {
    pid: found.pid,
    signalStop: signal,
    async stop() {
      signal()
      for (const deadline = Date.now() + ADOPTED_STOP_TIMEOUT_MS; isAlive(found.pid);) {
        if (Date.now() > deadline) throw new Error(`embedded postgres (pid ${found.pid}) did not stop`)
        await delay(100)
      }
    },
  }
}
