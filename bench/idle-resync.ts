/**
 * One full resync measured from inside the product (bench/idle.ts): when each key it enqueued has been
 * reconciled, and which queries it issued, told apart through an AsyncLocalStorage scope.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import type pg from 'pg'
import type { ControllerManager } from '../src/controller/manager.js'
import type { WorkQueue } from '../src/controller/workqueue.js'
import type { RunningServer } from '../src/main.js'

const LISTING = '(resync listing)'

function progress(message: string): void {
  process.stderr.write(`idle: ${message}\n`)
}

/**
 * One resync until each key it enqueued has run a reconcile that started after the enqueue (a key
 * running already is marked dirty and runs again: that second run is the one that counts). Queries
 * are attributed through an AsyncLocalStorage scope: the listing, a reconcile (by key), or neither.
 */
export async function measureResync(server: RunningServer) {
  const controller = server.controller!
  const scope = new AsyncLocalStorage<string>()
  const pending = new Map<string, number>()
  const queries = { listing: 0, reconciles: 0, other: 0 }
  let listed = false
  let reconciles = 0
  let drained = () => {}
  const done = new Promise<void>((resolve) => (drained = resolve))
  const restore = [
    countQueries(server.database.pool, () => {
      const store = scope.getStore()
      queries[store === undefined ? 'other' : store === LISTING ? 'listing' : 'reconciles']++
    }),
    onAdd(controller.queue, (key) => {
      if (scope.getStore() === LISTING && !listed && !pending.has(key)) pending.set(key, performance.now())
    }),
    aroundReconcile(controller, scope, (key, startedAt) => {
      reconciles++
      const added = pending.get(key)
      if (added !== undefined && startedAt >= added) pending.delete(key)
      if (listed && pending.size === 0) drained()
    }),
  ]
  try {
    const started = performance.now()
    await scope.run(LISTING, () => controller.resync('bench'))
    const keys = pending.size
    listed = true
    if (keys === 0) drained()
    await Promise.race([
      done,
      delay(5 * 60_000).then(() => Promise.reject(new Error('resync never drained'))),
    ])
    const ms = performance.now() - started
    progress(
      `resync: ${ms.toFixed(0)} ms, ${keys} keys, ${reconciles} reconciles, queries ${JSON.stringify(queries)}`,
    )
    return { ms, keys, reconciles, queries: { ...queries } }
  } finally {
    for (const undo of restore) undo()
    scope.disable()
  }
}

type AnyFunction = (...args: unknown[]) => unknown

/** Counts every query on `pool`: pool.query, and each query of a client checked out with connect(). */
function countQueries(pool: pg.Pool, count: () => void): () => void {
  const target = pool as unknown as Record<'query' | 'connect', AnyFunction>
  const { query, connect } = target
  target.query = (...args) => {
    count()
    return query.apply(pool, args)
  }
  // pool.query checks out through connect(callback): counted above, so only promise checkouts here.
  target.connect = (...args) =>
    args.length > 0
      ? connect.apply(pool, args)
      : (connect.call(pool) as Promise<pg.PoolClient>).then((client) => whileCheckedOut(client, count))
  return () => {
    Reflect.deleteProperty(pool, 'query')
    Reflect.deleteProperty(pool, 'connect')
  }
}

/** The client's queries count until it goes back: the pool reuses it for pool.query, counted apart. */
function whileCheckedOut(client: pg.PoolClient, count: () => void): pg.PoolClient {
  const target = client as unknown as Record<'query' | 'release', AnyFunction>
  const { query, release } = target
  target.query = (...args) => {
    count()
    return query.apply(client, args)
  }
  target.release = (...args) => {
    Reflect.deleteProperty(client, 'query')
    return release.apply(client, args)
  }
  return client
}

function onAdd(queue: WorkQueue, seen: (key: string) => void): () => void {
  const add = queue.add
  queue.add = (key) => {
    seen(key)
    add.call(queue, key)
  }
  return () => Reflect.deleteProperty(queue, 'add')
}

/** Wraps the manager's private reconcile (the queue calls it through `this`) to scope and time it. */
function aroundReconcile(
  controller: ControllerManager,
  scope: AsyncLocalStorage<string>,
  finished: (key: string, startedAt: number) => void,
): () => void {
  type Reconcile = (key: string, signal: AbortSignal) => Promise<unknown>
  const target = controller as unknown as { reconcile: Reconcile }
  const reconcile = target.reconcile
  target.reconcile = (key, signal) => {
    const startedAt = performance.now()
    return scope
      .run(key, () => reconcile.call(controller, key, signal))
      .finally(() => finished(key, startedAt))
  }
  return () => Reflect.deleteProperty(controller, 'reconcile')
}
