import type { FastifyReply } from 'fastify'
import { GilgalError } from '../errors.js'
import type { WatchHub } from './watch-hub.js'

/** The query string of a read that may watch. */
export const watchQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { watch: { type: 'boolean', default: false } },
} as const

/**
 * Answers a watch as Server-Sent Events: the object now (event `object`, id = its resource version),
 * then again at every change, until the client leaves; event `deleted` when it is gone. A client that
 * reconnects with Last-Event-ID gets the object only if it changed meanwhile. Subscribed before the
 * first read, so no change falls between the two.
 */
export async function streamWatch<T extends { resourceVersion: number }>(
  reply: FastifyReply,
  hub: WatchHub | undefined,
  key: string,
  read: () => Promise<T | undefined>,
  present: (value: T) => unknown,
): Promise<void> {
  if (!hub) throw unavailable()
  let last = Number(reply.sse.lastEventId ?? 0) || 0
  await runStream(reply, hub, key, read, async (value) => {
    if (!value) {
      await reply.sse.send({ event: 'deleted', data: { key } })
      return false
    }
    if (value.resourceVersion <= last) return true
    last = value.resourceVersion
    await reply.sse.send({ id: String(last), event: 'object', data: present(value) })
    return true
  })
}

/**
 * What both watches share: subscribe before the first read (no change falls between), send in order
 * whatever order reads finish in, and end when the client leaves (even before this ran), when a send
 * fails, when `send` says so, or when the process shuts down. Never a rejection nobody hears.
 */
async function runStream<V>(
  reply: FastifyReply,
  hub: WatchHub,
  key: string,
  read: () => Promise<V | undefined>,
  send: (value: V | undefined) => Promise<boolean>,
): Promise<void> {
  let ended = false
  let stopWatching = () => {}
  let stopShutdown = () => {}
  let finish = () => {}
  const finished = new Promise<void>((resolve) => (finish = resolve))
  const end = () => {
    if (ended) return
    ended = true
    stopWatching()
    stopShutdown()
    if (reply.sse.isConnected) reply.sse.close()
    finish()
  }
  let sending: Promise<void> = Promise.resolve()
  const deliver = (value: V | undefined) => {
    sending = sending
      .then(async () => {
        if (!ended && !(await send(value))) end()
      })
      .catch(end)
  }
  stopWatching = hub.watch(key, read, deliver)
  stopShutdown = hub.onShutdown(end)
  reply.sse.onClose(end)
  if (!reply.sse.isConnected) end()
  try {
    reply.sse.sendHeaders()
    reply.raw.flushHeaders()
    deliver(await read())
  } catch (error) {
    end()
    throw error
  }
  await finished
}

// Events a watch starts with, and the most one change can bring (a write records a handful).
const RECENT_EVENTS = 100

/**
 * A project's events as Server-Sent Events (event `event`, id = the event's id): the recent ones, or
 * with Last-Event-ID only those after it, then each new one as it is recorded. One read of the newest
 * events per change serves every watcher of the project; each sends what is new to it.
 */
export async function streamEvents<T extends { id: number }>(
  reply: FastifyReply,
  hub: WatchHub | undefined,
  projectId: string,
  readRecent: (limit: number) => Promise<T[]>,
): Promise<void> {
  if (!hub) throw unavailable()
  let last = Number(reply.sse.lastEventId ?? 0) || 0
  await runStream(
    reply,
    hub,
    `Event/${projectId}`,
    () => readRecent(RECENT_EVENTS),
    async (events) => {
      for (const event of [...(events ?? [])].sort((a, b) => a.id - b.id)) {
        if (event.id <= last) continue
        last = event.id
        await reply.sse.send({ id: String(event.id), event: 'event', data: event })
      }
      return true
    },
  )
}

function unavailable(): GilgalError {
  return new GilgalError(
    'GILGAL_WATCH_UNAVAILABLE',
    503,
    'Watch unavailable',
    'this process cannot watch objects',
    {
      expose: true,
    },
  )
}

/**
 * How a read of one object answers: the object, or with `?watch=true` its watch (streamWatch). The
 * object was found for the caller already (owner checked); the watch re-reads it by id.
 */
export function watchableRead<T extends { id: string; resourceVersion: number }>(
  hub: WatchHub | undefined,
  kind: 'Environment' | 'Deployment',
  findById: (id: string) => Promise<T | undefined>,
  present: (value: T) => unknown,
) {
  return async (object: T, watch: boolean, reply: FastifyReply): Promise<unknown> => {
    if (!watch) return present(object)
    await streamWatch(reply, hub, `${kind}/${object.id}`, () => findById(object.id), present)
  }
}
