import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import type Docker from 'dockerode'
import { watchContainerEvents } from './events.js'

/** An engine whose event stream is a PassThrough the test writes to and breaks. */
function engineWith(stream: PassThrough): Docker {
  return { getEvents: async () => stream } as unknown as Docker
}

test('an event stream that fails mid-way (the daemon stopping) ends the watch with the error, once', async () => {
  const stream = new PassThrough()
  const events: string[] = []
  const ends: Array<Error | undefined> = []
  await watchContainerEvents(
    engineWith(stream),
    0,
    (event) => events.push(event.action),
    (error) => ends.push(error),
  )
  stream.write(`${JSON.stringify({ Action: 'die', Actor: { ID: 'c1', Attributes: {} } })}\n`)
  await new Promise((resolve) => setImmediate(resolve))
  stream.destroy(new Error('aborted'))
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(events, ['die'])
  assert.equal(ends.length, 1)
  assert.equal(ends[0]?.message, 'aborted')
})
