import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FakeRuntime, MUTATIONS } from '../../test/doubles/fake-runtime.js'
import { alwaysStale } from '../../test/doubles/fence.js'
import { FencedError, fencedRuntime } from './fence.js'

test('under a term that is over, every mutation is refused before it reaches the engine; reads pass', async () => {
  const fake = new FakeRuntime()
  const runtime = fencedRuntime(fake.forEpoch(1), alwaysStale)
  for (const method of MUTATIONS) {
    const call = runtime[method] as (...args: unknown[]) => Promise<unknown>
    await assert.rejects(
      call({ name: 'x', tag: 'x', labels: {} }, 'x', undefined, () => undefined),
      FencedError,
      method,
    )
  }
  assert.deepEqual(fake.calls, [])
  assert.deepEqual(await runtime.listManaged({}), [])
  assert.equal(await runtime.findImage('x'), undefined)
  assert.equal(fake.calls.length, 1, 'the listing went through')
})
