import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatKey, parseKey, ROUTES_KEY } from './keys.js'

const id = '0b6f3c52-3f7e-4c1a-9a57-2d2b8f1e4c10'

test('a key round-trips through format and parse', () => {
  for (const kind of ['Project', 'Environment', 'Deployment'] as const) {
    assert.deepEqual(parseKey(formatKey({ kind, id })), { kind, id })
  }
  assert.deepEqual(parseKey(formatKey(ROUTES_KEY)), ROUTES_KEY)
})

test('malformed keys parse to undefined', () => {
  for (const key of [
    '',
    'Project',
    `Pod/${id}`,
    'Project/not-a-uuid',
    `Project/${id.toUpperCase()}`,
    `/${id}`,
    `Routes/${id}`,
  ]) {
    assert.equal(parseKey(key), undefined, key)
  }
})
