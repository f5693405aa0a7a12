import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LABELS, ownership } from './labels.js'

test('an installation owns only its own objects: with an instance name, and without one', () => {
  const named = ownership('staging')
  assert.deepEqual(named.labels, { [LABELS.managed]: 'true', [LABELS.instance]: 'staging' })
  assert.deepEqual(named.filters, ['dev.gilgal.managed=true', 'dev.gilgal.instance=staging'])
  assert.equal(named.owns({ [LABELS.managed]: 'true', [LABELS.instance]: 'staging' }), true)
  assert.equal(named.owns({ [LABELS.managed]: 'true', [LABELS.instance]: 'production' }), false)
  const unnamed = ownership()
  assert.equal(unnamed.owns({ [LABELS.managed]: 'true' }), true)
  assert.equal(
    unnamed.owns({ [LABELS.managed]: 'true', [LABELS.instance]: 'staging' }),
    false,
    "a named installation's",
  )
})

test('without an instance name, objects say so with an empty label, which no image can take away', () => {
  const unnamed = ownership()
  assert.deepEqual(unnamed.labels, { [LABELS.managed]: 'true', [LABELS.instance]: '' })
  assert.deepEqual(unnamed.filters, ['dev.gilgal.managed=true'])
  assert.equal(unnamed.owns({ [LABELS.managed]: 'true', [LABELS.instance]: '' }), true)
})
