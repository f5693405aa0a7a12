import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { TerminalError } from '../errors.js'
import type { ReconcileResult } from './reconciler.js'
import { FakeClock, settle } from '../../test/doubles/fake-clock.js'
import { WorkQueue, type Outcome, type WorkQueueOptions } from './workqueue.js'

interface Deferred {
  resolve(result?: ReconcileResult): void
  reject(error: Error): void
  signal: AbortSignal
}

/** A queue whose reconciles wait until the test settles them, recording every start. */
function harness(options: Partial<WorkQueueOptions> = {}) {
  const clock = new FakeClock()
  const starts: Array<{ key: string; at: number }> = []
  const open = new Map<string, Deferred>()
  const outcomes: Array<{ key: string; outcome: Outcome }> = []
  let overlaps = 0
  const queue = new WorkQueue({
    clock,
    random: () => 0,
    concurrency: 4,
    process: (key, signal) =>
      new Promise<ReconcileResult>((resolve, reject) => {
        starts.push({ key, at: clock.now() })
        if (open.has(key)) overlaps++
        open.set(key, { resolve: (result = {}) => resolve(result), reject, signal })
      }),
    onDone: (key, outcome) => outcomes.push({ key, outcome }),
    ...options,
  })
  const finish = async (key: string, result?: ReconcileResult) => {
    const deferred = open.get(key)
    assert.ok(deferred, `${key} is running`)
    open.delete(key)
    deferred.resolve(result)
    await settle()
  }
  const fail = async (key: string, error: Error = new Error('boom')) => {
    const deferred = open.get(key)!
    open.delete(key)
    deferred.reject(error)
    await settle()
  }
  return { clock, queue, starts, open, outcomes, finish, fail, overlaps: () => overlaps }
}

describe('work queue', () => {
  test('a key added many times before it runs is processed once', async () => {
    const h = harness()
    h.queue.pause()
    for (let i = 0; i < 5; i++) h.queue.add('Environment/a')
    assert.equal(h.queue.depth, 1)
    h.queue.resume()
    await settle()
    await h.finish('Environment/a')
    assert.deepEqual(
      h.starts.map((s) => s.key),
      ['Environment/a'],
    )
  })

  test('a key never runs twice at once; added while running, it runs exactly once more', async () => {
    const h = harness()
    h.queue.add('k')
    await settle()
    for (let i = 0; i < 5; i++) h.queue.add('k')
    await settle()
    assert.equal(h.starts.length, 1, 'not started again while running')
    await h.finish('k')
    assert.equal(h.starts.length, 2, 'the dirty key ran once more')
    await h.finish('k')
    assert.equal(h.starts.length, 2)
  })

  test('different keys run side by side up to the concurrency', async () => {
    const h = harness({ concurrency: 2 })
    for (const key of ['a', 'b', 'c']) h.queue.add(key)
    await settle()
    assert.deepEqual(h.queue.runningKeys.sort(), ['a', 'b'])
    await h.finish('a')
    assert.deepEqual(h.queue.runningKeys.sort(), ['b', 'c'])
  })

  test('failures back off per key, 100 ms doubling, and success resets it', async () => {
    const h = harness()
    h.queue.add('k')
    await settle()
    const retryTimes: number[] = []
    for (let attempt = 0; attempt < 4; attempt++) {
      await h.fail('k')
      const [next] = h.clock.pending()
      retryTimes.push(next! - h.clock.now())
      await h.clock.advance(next! - h.clock.now() - 1)
      assert.equal(h.open.size, 0, 'not retried before its time')
      await h.clock.advance(1)
    }
    assert.deepEqual(retryTimes, [100, 200, 400, 800])
    await h.finish('k')
    h.queue.add('k')
    await settle()
    await h.fail('k')
    assert.deepEqual(
      h.clock.pending().map((at) => at - h.clock.now()),
      [100],
      'reset after a success',
    )
  })

  test('backoff is capped at 5 minutes, with jitter below the cap', async () => {
    const h = harness({ random: () => 0.99 })
    h.queue.add('k')
    await settle()
    let last = 0
    for (let attempt = 0; attempt < 15; attempt++) {
      await h.fail('k')
      last = h.clock.pending()[0]! - h.clock.now()
      await h.clock.advance(last)
    }
    assert.equal(last, 300_000)
  })

  test('requeueAfterMs runs the key again at that time, not before', async () => {
    const h = harness()
    h.queue.add('k')
    await settle()
    await h.finish('k', { requeueAfterMs: 1000 })
    await h.clock.advance(999)
    assert.equal(h.starts.length, 1)
    await h.clock.advance(1)
    assert.deepEqual(
      h.starts.map((s) => s.at),
      [0, 1000],
    )
    assert.deepEqual(
      h.outcomes.map((o) => o.outcome),
      ['requeue'],
    )
  })

  test('a terminal error is not retried', async () => {
    const h = harness()
    h.queue.add('k')
    await settle()
    await h.fail('k', new TerminalError('bad spec'))
    await h.clock.advance(600_000)
    assert.equal(h.starts.length, 1)
    assert.deepEqual(h.outcomes, [{ key: 'k', outcome: 'terminal' }])
  })

  test('of several delayed adds the earliest wins', async () => {
    const h = harness()
    h.queue.addAfter('k', 500)
    h.queue.addAfter('k', 200)
    h.queue.addAfter('k', 900)
    assert.deepEqual(h.clock.pending(), [200])
    await h.clock.advance(200)
    assert.deepEqual(
      h.starts.map((s) => s.at),
      [200],
    )
  })

  test('pause stops new work, abortRunning signals the running reconciles', async () => {
    const h = harness()
    h.queue.add('a')
    await settle()
    h.queue.pause()
    h.queue.add('b')
    await settle()
    assert.deepEqual(h.queue.runningKeys, ['a'])
    h.queue.abortRunning('lost leadership')
    assert.equal(h.open.get('a')!.signal.aborted, true)
    h.queue.resume()
    await settle()
    assert.deepEqual(h.queue.runningKeys.sort(), ['a', 'b'])
  })

  test('a reconcile past its timeout is aborted', async () => {
    const h = harness({ timeoutMs: 1000 })
    h.queue.add('k')
    await settle()
    await h.clock.advance(999)
    assert.equal(h.open.get('k')!.signal.aborted, false)
    await h.clock.advance(1)
    assert.equal(h.open.get('k')!.signal.aborted, true)
  })

  test('shutdown drops queued and delayed keys and waits, within a bound, for running ones', async () => {
    const h = harness({ concurrency: 1 })
    h.queue.add('running')
    h.queue.add('queued')
    h.queue.addAfter('delayed', 100)
    await settle()
    const done = h.queue.shutdown(5000)
    await settle()
    await h.finish('running')
    assert.equal(await done, true)
    await h.clock.advance(1000)
    assert.deepEqual(
      h.starts.map((s) => s.key),
      ['running'],
    )
    h.queue.add('late')
    await settle()
    assert.equal(h.starts.length, 1, 'nothing is accepted after shutdown')

    const stuck = harness()
    stuck.queue.add('hangs')
    await settle()
    const bounded = stuck.queue.shutdown(2000)
    await stuck.clock.advance(2000)
    assert.equal(await bounded, false)
    assert.equal(stuck.open.get('hangs')!.signal.aborted, true)
  })

  test('property: random adds, completions and errors keep the invariants', async () => {
    let seed = 42
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const keys = ['a', 'b', 'c', 'd', 'e']
    const lastAdded = new Map<string, number>()
    const lastStarted = new Map<string, number>()
    let step = 0
    const h = harness({ random: () => 0, concurrency: 3, onStart: (key) => void lastStarted.set(key, step) })
    for (step = 1; step <= 2000; step++) {
      const roll = random()
      const key = keys[Math.floor(random() * keys.length)]!
      if (roll < 0.5) {
        h.queue.add(key)
        lastAdded.set(key, step)
      } else if (roll < 0.8 && h.open.has(key)) {
        await h.finish(key)
      } else if (roll < 0.9 && h.open.has(key)) {
        await h.fail(key)
      } else {
        await h.clock.advance(Math.floor(random() * 500))
      }
      await settle()
    }
    // Drain: finish everything, let every backoff expire.
    for (
      let round = 0;
      round < 50 && (h.open.size > 0 || h.clock.pending().length > 0 || h.queue.depth > 0);
      round++
    ) {
      for (const key of [...h.open.keys()]) await h.finish(key)
      await h.clock.advance(400_000)
    }
    assert.equal(h.overlaps(), 0, 'a key never ran twice at once')
    assert.ok(h.starts.length > 200, `the run exercised the queue (${h.starts.length} starts)`)
    for (const [key, added] of lastAdded) {
      assert.ok(
        (lastStarted.get(key) ?? -1) >= added,
        `${key}: added at step ${added}, so it ran at or after it`,
      )
    }
    assert.equal(h.queue.depth, 0)
    assert.equal(h.open.size, 0)
  })
})
