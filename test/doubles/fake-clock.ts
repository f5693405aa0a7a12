import type { Clock } from '../../src/controller/workqueue.js'

/** A clock that moves only when told to (tests only). Timers fire in time order as it advances. */
export class FakeClock implements Clock {
  private time = 0
  private nextId = 1
  private readonly timers = new Map<number, { at: number; callback: () => void }>()

  now(): number {
    return this.time
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++
    this.timers.set(id, { at: this.time + Math.max(0, ms), callback })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number)
  }

  /** Pending timers' due times, soonest first. */
  pending(): number[] {
    return [...this.timers.values()].map((timer) => timer.at).sort((a, b) => a - b)
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, t]) => t.at <= target)
        .sort((a, b) => a[1].at - b[1].at)[0]
      if (!due) break
      this.timers.delete(due[0])
      this.time = due[1].at
      due[1].callback()
      await settle()
    }
    this.time = target
    await settle()
  }
}

/** Lets every ready promise callback and immediate run: one full turn of the event loop, no timers. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}
