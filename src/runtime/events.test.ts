import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import type Docker from 'dockerode'
import { watchContainerEvents, watchNodeEvents } from './events.js'

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

test("a Swarm node's events come as `node` events, naming no environment", async () => {
  const stream = new PassThrough()
  const events: Array<{ action: string; environmentId: string | undefined }> = []
  await watchNodeEvents(
    engineWith(stream),
    0,
    (event) => events.push({ action: event.action, environmentId: event.environmentId }),
    () => undefined,
  )
  stream.write(`${JSON.stringify({ Type: 'node', Action: 'update', Actor: { ID: 'n1', Attributes: {} } })}\n`)
  stream.write('not json\n')
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(events, [{ action: 'node', environmentId: undefined }])
})
