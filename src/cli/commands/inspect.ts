import type { Command } from 'commander'
import { setTimeout as delay } from 'node:timers/promises'
import { stringify } from 'yaml'
import { CliError, type ApiClient } from '../client/api.js'
import { parseEnvironmentRef, type CliContext } from '../client/context.js'
import { age, paint, table, type Output } from '../client/output.js'
import { environmentOf, projectsOf, type Resource } from '../client/resources.js'
import { readEvents } from '../client/sse.js'

interface GilgalEvent {
  id: number
  object: { kind: string; name: string | null }
  type: string
  reason: string
  message: string
  createdAt: string
}

const EVENTS_POLL_MS = 1000

/** describe, logs, events. */
export function registerInspectCommands(program: Command, context: () => CliContext): void {
  registerDescribe(program, context)
  registerLogs(program, context)
  registerEvents(program, context)
}

function registerDescribe(program: Command, context: () => CliContext): void {
  program
    .command('describe')
    .description('an object in full: spec, status, and its recent events')
    .argument('<kind>', 'project, environment or deployment')
    .argument('<name>', 'PROJECT, PROJECT/ENV, or a deployment id or PROJECT/ENV/rN')
    .addHelpText(
      'after',
      '\nExamples:\n  gilgal describe environment shop/production\n  gilgal describe deployment shop/production/r3',
    )
    .action(async (kind: string, name: string) => {
      const ctx = context()
      const api = await ctx.api()
      const object = await findObject(api, kind, name)
      const project = String(object.kind === 'Project' ? object.metadata.name : object.metadata.project)
      const events = (await eventsOf(api, project)).filter(
        (e) => e.object.name === object.metadata.name || object.kind === 'Project',
      )
      ctx.output.out(
        stringify({
          kind: object.kind,
          metadata: object.metadata,
          spec: object.spec,
          status: object.status,
        }).trimEnd(),
      )
      ctx.output.out(`\nEvents:\n${events.length ? eventTable(events.slice(-10), ctx.output) : '  none'}`)
    })
}

function registerLogs(program: Command, context: () => CliContext): void {
  program
    .command('logs')
    .description("an environment's runtime logs, or a deployment's build and rollout log")
    .argument('<target>', 'PROJECT/ENV, or a deployment id or PROJECT/ENV/rN')
    .option('-f, --follow', 'keep printing new lines')
    .option('--tail <n>', 'environments: lines per container to start from', '100')
    .addHelpText('after', '\nExamples:\n  gilgal logs shop/production -f\n  gilgal logs shop/production/r3')
    .action(async (target: string, options: { follow?: boolean; tail: string }) => {
      const ctx = context()
      const api = await ctx.api()
      const parts = target.split('/')
      const path =
        parts.length === 2
          ? `/api/environments/${(await environmentOf(api, parseEnvironmentRef(target))).metadata.id}/logs`
          : `/api/deployments/${(await findDeployment(api, target)).metadata.id}/logs`
      const query = parts.length === 2 ? { tail: options.tail } : {}
      if (!options.follow) {
        const { items } = await api.request<{ items: Array<Record<string, string>> }>('GET', path, { query })
        for (const line of items) ctx.output.out(logLine(line, ctx.output))
        return
      }
      const response = await api.stream(path, { ...query, follow: true }, new AbortController().signal)
      for await (const event of readEvents(response.body!)) {
        if (event.event === 'log')
          ctx.output.out(logLine(JSON.parse(event.data) as Record<string, string>, ctx.output))
        if (event.event === 'end') return
      }
    })
}

function registerEvents(program: Command, context: () => CliContext): void {
  program
    .command('events')
    .description('what happened: writes through the API and what the controller did, oldest first')
    .option('-p, --project <project>', 'only this project')
    .option('-w, --watch', 'keep printing new events as they are recorded')
    .addHelpText('after', '\nExample:\n  gilgal events -p shop -w')
    .action(async (options: { project?: string; watch?: boolean }) => {
      const ctx = context()
      const api = await ctx.api()
      const projects = (await projectsOf(api, options.project)).map((p) => String(p.metadata.name))
      if (options.watch) return watchEvents(api, projects, ctx.output)
      const events = (await Promise.all(projects.map((p) => eventsOf(api, p))))
        .flat()
        .sort((a, b) => a.id - b.id)
      ctx.output.out(events.length ? eventTable(events, ctx.output) : 'no events')
    })
}

/** Each project's events over a watch (or, from a server that cannot watch, every second). */
async function watchEvents(api: ApiClient, projects: string[], output: Output): Promise<void> {
  output.out(table(['age', 'type', 'reason', 'object', 'message'], []))
  const print = (event: GilgalEvent) => output.out(eventTable([event], output, true))
  await Promise.all(
    projects.map(async (project) => {
      const path = `/api/projects/${encodeURIComponent(project)}/events`
      const response = await api
        .stream(path, { watch: true }, new AbortController().signal)
        .catch((error: unknown) => {
          if (error instanceof CliError && /cannot watch/.test(error.message)) return undefined
          throw error
        })
      if (!response) return pollEvents(api, project, print)
      for await (const event of readEvents(response.body!))
        if (event.event === 'event') print(JSON.parse(event.data) as GilgalEvent)
    }),
  )
}

async function pollEvents(
  api: ApiClient,
  project: string,
  print: (event: GilgalEvent) => void,
): Promise<never> {
  let seen = 0
  for (;;) {
    const events = await eventsOf(api, project)
    for (const event of events) if (event.id > seen) print(event)
    seen = Math.max(seen, ...events.map((e) => e.id))
    await delay(EVENTS_POLL_MS)
  }
}

async function eventsOf(api: ApiClient, project: string): Promise<GilgalEvent[]> {
  const { items } = await api.request<{ items: GilgalEvent[] }>(
    'GET',
    `/api/projects/${encodeURIComponent(project)}/events`,
    {
      query: { limit: 100 },
    },
  )
  return items.sort((a, b) => a.id - b.id)
}

function eventTable(events: GilgalEvent[], output: Output, continued = false): string {
  const rows = events.map((e) => [
    age(e.createdAt),
    paint(output, e.type === 'Warning' ? 'yellow' : 'dim', e.type),
    e.reason,
    `${e.object.kind.toLowerCase()}/${e.object.name ?? '-'}`,
    e.message.split('\n')[0]!,
  ])
  const text = table(['age', 'type', 'reason', 'object', 'message'], rows)
  return continued ? text.split('\n').slice(1).join('\n') : text
}

function logLine(line: Record<string, string>, output: Output): string {
  const prefix = line.container ? `${paint(output, 'cyan', line.container)} ` : ''
  return `${prefix}${line.message}`
}

/** `project NAME`, `environment PROJECT/ENV`, `deployment ID|PROJECT/ENV/rN`. */
async function findObject(api: ApiClient, kind: string, name: string): Promise<Resource> {
  if (['project', 'projects'].includes(kind)) return (await projectsOf(api, name))[0]!
  if (['environment', 'environments', 'env'].includes(kind))
    return environmentOf(api, parseEnvironmentRef(name))
  if (['deployment', 'deployments', 'deploy', 'revision'].includes(kind)) return findDeployment(api, name)
  throw new CliError(`cannot describe ${kind}: one of project, environment, deployment`, 2)
}

/** A deployment by id, or as `PROJECT/ENV/rN`. */
export async function findDeployment(api: ApiClient, ref: string): Promise<Resource> {
  const [project, environment, revision, ...rest] = ref.split('/')
  if (!environment) return api.request<Resource>('GET', `/api/deployments/${encodeURIComponent(ref)}`)
  if (!revision || rest.length > 0 || !/^r?\d+$/.test(revision))
    throw new CliError(`${ref} is not a deployment: an id, or PROJECT/ENV/rN such as shop/production/r3`, 2)
  const name = `${environment}-r${revision.replace(/^r/, '')}`
  return api.request<Resource>('GET', `/api/projects/${encodeURIComponent(project!)}/deployments/${name}`)
}
