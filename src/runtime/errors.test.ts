import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isGone } from './errors.js'

const engineError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode })

test("a 404, or a Swarm node's 500 for a network its manager removed, is gone; other failures are not", () => {
  assert.equal(isGone(engineError(404, 'no such container')), true)
  assert.equal(isGone(engineError(500, '(HTTP code 500) server error - network 0bmtdhvm not found')), true)
  assert.equal(isGone(engineError(500, 'error while removing network: network has active endpoints')), false)
  assert.equal(isGone(engineError(409, 'conflict')), false)
  assert.equal(isGone(new Error('connect ECONNREFUSED')), false)
})
