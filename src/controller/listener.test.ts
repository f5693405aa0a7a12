import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseChange } from './listener.js'

const id = '0b6f3c52-3f7e-4c1a-9a57-2d2b8f1e4c10'

test('a change payload becomes its key and trigger time', () => {
  assert.deepEqual(parseChange(JSON.stringify({ kind: 'Environment', id, at: 1795600000.123 })), {
    key: { kind: 'Environment', id },
    at: 1795600000.123,
  })
  assert.deepEqual(parseChange(JSON.stringify({ kind: 'Project', id })), {
    key: { kind: 'Project', id },
    at: undefined,
  })
})

test('anything else is refused, not thrown', () => {
  for (const payload of [
    '',
    'not json',
    'null',
    '[]',
    '{"kind":"Pod","id":"x"}',
    `{"kind":"Project","id":"${id.toUpperCase()}"}`,
    `{"kind":"Project"}`,
  ]) {
    assert.equal(parseChange(payload), undefined, payload)
  }
})
