import { FencedError, type Fence } from '../../src/runtime/fence.js'

/** Tests only: the fence of a term that never ends, for tests that drive one reconciler alone. */
export const alwaysCurrent: Fence = { epoch: 1, assertCurrent: async () => undefined }

/** Tests only: the fence of a term that is over. */
export const alwaysStale: Fence = {
  epoch: 1,
  assertCurrent: async () => {
    throw new FencedError(1)
  },
}
