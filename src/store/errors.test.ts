import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isDatabaseUnavailable } from './errors.js'

test('a lost or refused connection is unavailable; a wrong statement is not', () => {
  const unavailable = [
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    Object.assign(new Error('connection failure'), { code: '08006' }),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
  ]
  for (const error of unavailable) assert.equal(isDatabaseUnavailable(error), true, error.message)
  const wrong = [
    Object.assign(new Error('duplicate key'), { code: '23505' }),
    Object.assign(new Error('syntax error'), { code: '42601' }),
    new Error('something else'),
    undefined,
    'a string',
  ]
  for (const error of wrong) assert.equal(isDatabaseUnavailable(error), false, String(error))
})
