import { GilgalError } from '../errors.js'
import type { Runtime } from './runtime.js'

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

/**
 * The runtime as one leadership term may use it. Reconcilers take this type, never a bare Runtime, so
 * an unfenced engine cannot be handed to them by mistake; `fence` is there for the few database
 * writes that must not outlive the term either (a build's recorded result).
 */
export interface FencedRuntime extends Runtime {
  readonly fence: Fence
}

/**
 * Every mutation first checks, in the database, that the term's epoch is still current. A leader that
 * was paused past its lease and resumed is refused here, whatever its reconcile was in the middle of.
 * Reads pass through.
 */
export function fencedRuntime(runtime: Runtime, fence: Fence): FencedRuntime {
  const guard =
    <A extends unknown[], R>(mutate: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await fence.assertCurrent()
      return mutate(...args)
    }
  return {
    ...runtime,
    fence,
    createContainer: guard(runtime.createContainer.bind(runtime)),
    startContainer: guard(runtime.startContainer.bind(runtime)),
    stopContainer: guard(runtime.stopContainer.bind(runtime)),
    removeContainer: guard(runtime.removeContainer.bind(runtime)),
    ensureNetwork: guard(runtime.ensureNetwork.bind(runtime)),
    removeNetwork: guard(runtime.removeNetwork.bind(runtime)),
    buildImage: guard(runtime.buildImage.bind(runtime)),
    pullImage: guard(runtime.pullImage.bind(runtime)),
    pushImage: guard(runtime.pushImage.bind(runtime)),
    removeImage: guard(runtime.removeImage.bind(runtime)),
    removeDanglingImages: guard(runtime.removeDanglingImages.bind(runtime)),
  }
}
