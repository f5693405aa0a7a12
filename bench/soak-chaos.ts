/**
 * Beside the load: containers killed at random (only the soak's own instance's), and the process's
 * memory sampled, to see whether running for a while makes it grow.
 */
import { setTimeout as delay } from 'node:timers/promises'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { LABELS } from '../src/runtime/labels.js'
import { docker } from '../test/helpers/docker.js'
import type { Random } from './soak-options.js'

export interface KillStats {
  kills: number
  /** The container was gone or not running by the time the kill came: the controller's race, not an error. */
  missed: number
  errors: string[]
}

/**
 * Every 2-5 s, SIGKILL of a random running container labelled with `instance`, counted in `stats`
 * (read meanwhile for progress). Resolves once `stop` aborts it and a kill in progress was answered.
 */
export async function killAtRandom(
  random: Random,
  instance: string,
  stop: AbortSignal,
  stats: KillStats,
): Promise<void> {
  const filters = { label: [`${LABELS.instance}=${instance}`] }
  while (!stop.aborted) {
    // Pacing the chaos: a kill every few seconds is the load, not a wait for anything.
    const slept = await delay(random.between(2000, 5000), true, { signal: stop }).catch(() => false)
    if (!slept) break
    // The engine failing to list is the engine's trouble, not the product's: noted, and the next try.
    const running = await docker.listContainers({ filters }).catch((error: unknown) => {
      stats.errors.push(`list containers: ${String(error)}`)
      return []
    })
    if (running.length === 0) continue
    const victim = random.pick(running)
    try {
      await docker.getContainer(victim.Id).kill({ signal: 'SIGKILL' })
      stats.kills++
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode
      if (status === 404 || status === 409) stats.missed++
      else stats.errors.push(`kill ${victim.Names[0]}: ${String(error)}`)
    }
  }
}

export interface MemorySample {
  /** Seconds since the sampler started. */
  at: number
  rssMb: number
  heapMb: number
}

const MB = 1024 * 1024

/**
 * A full collection before each sample when the runtime lets us ask for one: the heap measured right
 * after a GC is what is retained, while one measured at a random moment mostly says when the last
 * GC happened. `--expose-gc` can be set at run time; the gc function only shows in a new context.
 */
function collector(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch {
    return undefined
  }
}

/** Samples RSS and heap every `intervalMs` (and whenever `sample` is called) until `stop`. */
export class MemorySampler {
  readonly samples: MemorySample[] = []
  readonly collected: boolean
  private readonly gc = collector()
  private readonly started = performance.now()
  private readonly timer: NodeJS.Timeout

  constructor(intervalMs: number) {
    this.collected = this.gc !== undefined
    this.sample()
    this.timer = setInterval(() => this.sample(), intervalMs)
  }

  sample(): MemorySample {
    this.gc?.()
    const { rss, heapUsed } = process.memoryUsage()
    const sample = { at: (performance.now() - this.started) / 1000, rssMb: rss / MB, heapMb: heapUsed / MB }
    this.samples.push(sample)
    return sample
  }

  stop(): void {
    clearInterval(this.timer)
  }
}

export interface MemoryReport {
  start: MemorySample
  end: MemorySample
  peakRssMb: number
  /** Least-squares slope of the heap after warm-up, MB a minute: growth that goes on, not a step. */
  heapSlopeMbPerMinute: number
}

/** Start = the first sample at or after `warmupSeconds`, end = the last one up to `endSeconds`. */
export function memoryReport(
  samples: MemorySample[],
  warmupSeconds: number,
  endSeconds: number,
): MemoryReport {
  const inRun = samples.filter((s) => s.at <= endSeconds + 1)
  const afterWarmup = inRun.filter((s) => s.at >= warmupSeconds)
  const window = afterWarmup.length > 0 ? afterWarmup : inRun.slice(-1)
  return {
    start: window[0]!,
    end: window[window.length - 1]!,
    peakRssMb: Math.max(...inRun.map((s) => s.rssMb)),
    heapSlopeMbPerMinute: slope(window.map((s) => [s.at / 60, s.heapMb])),
  }
}

function slope(points: Array<[number, number]>): number {
  if (points.length < 2) return 0
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / points.length
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / points.length
  const covariance = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0)
  const variance = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0)
  return variance === 0 ? 0 : covariance / variance
}
