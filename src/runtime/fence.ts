import { GilgalError } from '../errors.js'
import { RUNTIME_READS, type Runtime } from './runtime.js'

/** Thrown by a fence whose epoch is no longer current: this process must not touch Docker. */
export class FencedError extends GilgalError {
  constructor(epoch: number) {
    super('GILGAL_FENCED', 503, 'Not the leader', `leadership epoch ${epoch} is over: refusing to act`)
  }
}

/**
 * The leadership term a caller acts under. `assertCurrent` asks the database whether the term's epoch
 * still holds and throws FencedError when it does not.
 */
export interface Fence {
  readonly epoch: number
  assertCurrent(): Promise<void>
}

const FENCED: unique symbol = Symbol('fenced')

/**
 * The runtime as one leadership term may use it. Reconcilers take this type, never a bare Runtime, and
 * only fencedRuntime makes one (it carries a private mark), so an unfenced engine cannot be handed to
 * them by mistake. `fence` is there for the few database writes that must not outlive the term either
 * (a build's recorded result).
 */
export interface FencedRuntime extends Runtime {
  readonly fence: Fence
  readonly [FENCED]: true
}

const READS: ReadonlySet<string> = new Set(RUNTIME_READS)

/**
 * Every method but the reads (RUNTIME_READS) first checks, in the database, that the term's epoch is
 * still current: a method added to Runtime later is fenced unless it is declared a read. A leader that
 * was paused past its lease and resumed is refused here, whatever its reconcile was in the middle of.
 * A Runtime is a plain object of functions (createDockerRuntime), so its own entries are all of it.
 */
export function fencedRuntime(runtime: Runtime, fence: Fence): FencedRuntime {
  const methods = Object.entries(runtime).map(([name, method]: [string, (...args: unknown[]) => unknown]) => [
    name,
    READS.has(name)
      ? method
      : async (...args: unknown[]) => {
          await fence.assertCurrent()
          return method(...args)
        },
  ])
  // The same methods under the same names, the mutations wrapped: still the runtime's own shape.
  return { ...(Object.fromEntries(methods) as Runtime), fence, [FENCED]: true }
}
