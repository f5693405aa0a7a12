import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FakeRuntime } from '../../test/doubles/fake-runtime.js'
import { alwaysStale } from '../../test/doubles/fence.js'
import { FencedError, fencedRuntime } from './fence.js'
import { RUNTIME_READS } from './runtime.js'

test('under a term that is over, every method but the reads is refused before it reaches the engine', async () => {
  const fake = new FakeRuntime()
  const raw = fake.forEpoch(1)
  const runtime = fencedRuntime(raw, alwaysStale)
  assert.deepEqual(Object.keys(runtime).sort(), [...Object.keys(raw), 'fence'].sort(), 'no method lost')
  const reads: readonly string[] = RUNTIME_READS
  const mutations = Object.keys(raw).filter((name) => !reads.includes(name))
  assert.deepEqual(mutations.sort(), [
    'attachToNetwork',
    'buildImage',
    'createContainer',
    'detachFromNetwork',
    'ensureNetwork',
    'pullImage',
    'pushImage',
    'removeContainer',
    'removeDanglingImages',
    'removeImage',
    'removeNetwork',
    'startContainer',
    'stopContainer',
  ])
  for (const name of mutations) {
    const call = runtime[name as keyof typeof raw] as (...args: unknown[]) => Promise<unknown>
    await assert.rejects(
      call({ name: 'x', tag: 'x', labels: {} }, 'x', undefined, () => undefined),
      FencedError,
      name,
    )
  }
  assert.equal(fake.calls.length, 0)
  assert.deepEqual(await runtime.listManaged({}), [])
  assert.equal(await runtime.findImage('x'), undefined)
  assert.deepEqual(
    fake.calls.map((call) => call.method),
    ['listManaged'],
    'the reads went through',
  )
})
