/**
 * Where the time of one apply goes, up to the first 200 from the new container: the product in this
 * process logs at debug level into memory (the API's request, each reconcile's start and end), Docker
 * reports its own events for the instance (network, container create and start, health), and a poller
 * notes when the status first names a URL and when that URL first answers. Printed as one timeline,
 * in ms since the apply was sent; then the same for its container killed and restarted by Docker.
 * It is a picture, not a figure: it adds no row to the table.
 */
import { Writable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import type { RunningServer } from '../src/main.js'
import { createLogger } from '../src/log.js'
import { docker } from '../test/helpers/docker.js'
import { appManifest, buildHttpImage, ok } from './http-app.js'
import { startProduct } from './product.js'
import type { Api } from './session.js'
import type { BenchRow } from './table.js'

const INSTANCE = 'bench-timeline'

interface Mark {
  at: number // epoch ms
  what: string
}

export async function runTimelineBench(databaseUrl: string): Promise<BenchRow[]> {
  await buildHttpImage()
  const lines: string[] = []
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()),
  })
  const { server, api, stop } = await startProduct(databaseUrl, INSTANCE, {}, createLogger('debug', sink))
  try {
    // A first apply makes the project's network and warms every path; the second is the one shown.
    await applyAndWait(api, server, 'warm')
    lines.length = 0
    const events = await docker.getEvents({ filters: { label: [`dev.gilgal.instance=${INSTANCE}`] } })
    const dockerMarks: Mark[] = []
    events.on('data', (chunk: Buffer) => dockerMarks.push(...dockerEventMarks(chunk)))
    const sentAt = Date.now()
    const seen = await applyAndWait(api, server, 'shown')
    const marks = [{ at: sentAt, what: 'apply sent' }, ...logMarks(lines), ...dockerMarks, ...seen]
    printTimeline('apply -> first 200', marks, sentAt)
    lines.length = 0
    dockerMarks.length = 0
    const killedAt = Date.now()
    const served = await killAndWait(server, 'shown')
    ;(events as unknown as { destroy(): void }).destroy()
    const kill = [{ at: killedAt, what: 'docker kill sent' }, ...logMarks(lines), ...dockerMarks, ...served]
    printTimeline('crash -> serving again', kill, killedAt)
    return []
  } finally {
    await stop()
  }
}

/** Applies `name`, then polls every 2 ms: when the status first names a URL, when it first answers. */
async function applyAndWait(api: Api, server: RunningServer, name: string): Promise<Mark[]> {
  await api('POST', '/api/apply', appManifest('timeline', name, 1), 'application/yaml')
  const marks: Mark[] = []
  for (;;) {
    const { rows } = await server.database.pool.query(
      `select status->'urls'->>0 as url from environments where name = $1`,
      [name],
    )
    const url: string | undefined = rows[0]?.url ?? undefined
    if (url && marks.length === 0) marks.push({ at: Date.now(), what: 'status names a URL (poller)' })
    if (url && (await ok(url))) return [...marks, { at: Date.now(), what: 'first 200 (poller)' }]
    await delay(2)
  }
}

/** Kills the environment's container (Docker restarts it: its policy), then polls its URL every 2 ms. */
async function killAndWait(server: RunningServer, name: string): Promise<Mark[]> {
  const [victim] = await docker.listContainers({
    filters: { label: [`dev.gilgal.instance=${INSTANCE}`, 'dev.gilgal.revision'], name: [`--${name}-`] },
  })
  if (!victim) throw new Error(`no container of ${name} to kill`)
  await docker.getContainer(victim.Id).kill()
  for (;;) {
    // Read each time: had the controller replaced the container, the status would name another address.
    const { rows } = await server.database.pool.query(
      `select status->'urls'->>0 as url from environments where name = $1`,
      [name],
    )
    const info = await docker.getContainer(victim.Id).inspect()
    if (info.State.Running && rows[0]?.url && (await ok(rows[0].url)))
      return [{ at: Date.now(), what: 'first 200 again (poller)' }]
    await delay(2)
  }
}

/** The API's request and the controller's reconciles, from the product's debug log. */
function logMarks(lines: string[]): Mark[] {
  const marks: Mark[] = []
  for (const line of lines) {
    const entry = JSON.parse(line) as {
      time: number
      msg: string
      key?: string
      responseTime?: number
      err?: { message?: string }
    }
    if (entry.msg === 'request completed')
      marks.push({ at: entry.time, what: `API answered (${entry.responseTime?.toFixed(1)} ms in the API)` })
    else if (entry.msg === 'reconcile failed')
      marks.push({ at: entry.time, what: `failed ${entry.key!.split('/')[0]}: ${entry.err?.message}` })
    else if (entry.msg === 'reconcile started' || entry.msg === 'reconcile finished')
      marks.push({
        at: entry.time,
        what: `${entry.msg.replace('reconcile ', '')} ${entry.key!.split('/')[0]}`,
      })
  }
  return marks
}

/** Docker's own view, at its nanosecond clock: networks, containers, health. */
function dockerEventMarks(chunk: Buffer): Mark[] {
  return chunk
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { Type: string; Action: string; timeNano: number })
    .map((event) => ({ at: event.timeNano / 1e6, what: `docker: ${event.Type} ${event.Action}` }))
}

function printTimeline(title: string, marks: Mark[], sentAt: number): void {
  console.log(`\n${title}, once (ms since the first line):`)
  let previous = sentAt
  for (const mark of marks.sort((a, b) => a.at - b.at)) {
    const gap = mark.at - previous
    console.log(
      `  ${(mark.at - sentAt).toFixed(1).padStart(8)}  (+${gap.toFixed(1).padStart(6)})  ${mark.what}`,
    )
    previous = mark.at
  }
}
