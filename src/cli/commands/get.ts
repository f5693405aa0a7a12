import type { Command } from 'commander'
import { CliError, type ApiClient } from '../client/api.js'
import type { CliContext } from '../client/context.js'
import {
  age,
  paint,
  parseFormat,
  phaseColour,
  serialize,
  table,
  type Format,
  type Output,
} from '../client/output.js'
import { deploymentsOf, environmentsOf, projectsOf, type Resource } from '../client/resources.js'
import { readEvents } from '../client/sse.js'

const KINDS = {
  projects: ['project', 'projects'],
  environments: ['environment', 'environments', 'env', 'envs'],
  deployments: ['deployment', 'deployments', 'deploy', 'revisions'],
} as const
type ListKind = keyof typeof KINDS

/** get projects|environments|deployments. */
export function registerGetCommand(program: Command, context: () => CliContext): void {
  program
    .command('get')
    .description('list projects, environments or deployments')
    .argument('<kind>', 'projects, environments or deployments')
    .option('-p, --project <project>', 'only this project')
    .option('-e, --environment <environment>', 'deployments: only this environment')
    .option('-o, --output <format>', 'table, wide, json or yaml', 'table')
    .option('-w, --watch', 'environments and deployments: after the list, print each one again as it changes')
    .addHelpText(
      'after',
      '\nExamples:\n  gilgal get environments\n  gilgal get deployments -p shop -e production -o yaml',
    )
    .action(
      async (
        kind: string,
        options: { project?: string; environment?: string; output: string; watch?: boolean },
      ) => {
        const ctx = context()
        const format = parseFormat(options.output)
        const api = await ctx.api()
        const which = listKind(kind)
        const items =
          which === 'projects'
            ? await projectsOf(api, options.project)
            : which === 'environments'
              ? await environmentsOf(api, options.project)
              : await deploymentsOf(api, options.project, options.environment)
        ctx.output.out(render(which, items, format, ctx.output))
        if (options.watch) await watchItems(api, which, items, format, ctx.output)
      },
    )
}

function listKind(kind: string): ListKind {
  for (const [name, aliases] of Object.entries(KINDS))
    if ((aliases as readonly string[]).includes(kind)) return name as ListKind
  throw new CliError(`cannot get ${kind}: one of projects, environments, deployments`, 2)
}

function render(kind: ListKind, items: Resource[], format: Format, output: Output): string {
  if (format === 'json' || format === 'yaml') return serialize({ items }, format)
  if (items.length === 0) return `no ${kind}`
  const wide = format === 'wide'
  const phase = (r: Resource) => paint(output, phaseColour(r.status.phase), r.status.phase ?? '-')
  switch (kind) {
    case 'projects':
      return table(
        ['name', 'age', ...(wide ? ['id', 'repository'] : [])],
        items.map((p) => [
          String(p.metadata.name),
          age(p.metadata.createdAt),
          ...(wide
            ? [p.metadata.id, String((p.spec.repository as { url?: string } | undefined)?.url ?? '-')]
            : []),
        ]),
      )
    case 'environments':
      return table(
        ['project', 'name', 'phase', 'ready', 'revision', 'url', 'age', ...(wide ? ['reason', 'id'] : [])],
        items.map((e) => environmentRow(e, phase(e), wide)),
      )
    case 'deployments':
      return table(
        [
          'project',
          'environment',
          'revision',
          'phase',
          'reason',
          'age',
          ...(wide ? ['trigger', 'image', 'id'] : []),
        ],
        items.map((d) => deploymentRow(d, phase(d), wide)),
      )
  }
}

function environmentRow(e: Resource, phase: string, wide: boolean): string[] {
  const replicas = e.status.replicas as { ready: number; desired: number } | undefined
  const active = e.status.activeDeployment as { revision: number } | null | undefined
  const urls = (e.status.urls as string[] | undefined) ?? []
  return [
    String(e.metadata.project),
    String(e.metadata.name),
    phase,
    replicas ? `${replicas.ready}/${replicas.desired}` : '-',
    active ? `r${active.revision}` : '-',
    urls[0] ?? '-',
    age(e.metadata.createdAt),
    ...(wide ? [String(e.status.reason ?? '-'), e.metadata.id] : []),
  ]
}

function deploymentRow(d: Resource, phase: string, wide: boolean): string[] {
  const trigger = d.metadata.trigger as { type: string; by?: string } | undefined
  return [
    String(d.metadata.project),
    String(d.metadata.environment),
    `r${String(d.metadata.revision)}`,
    phase,
    String(d.status.reason ?? '-'),
    age(d.metadata.createdAt),
    ...(wide
      ? [
          trigger ? `${trigger.type}${trigger.by ? ` by ${trigger.by}` : ''}` : '-',
          String(d.status.imageTag ?? d.status.imageId ?? '-'),
          d.metadata.id,
        ]
      : []),
  ]
}

/** Each listed object over its watch: a new row (or document) every time it changes. */
async function watchItems(
  api: ApiClient,
  kind: ListKind,
  items: Resource[],
  format: Format,
  output: Output,
): Promise<void> {
  if (kind === 'projects')
    throw new CliError('get projects -w: only environments and deployments can be watched', 2)
  const path = (item: Resource) =>
    kind === 'environments' ? `/api/environments/${item.metadata.id}` : `/api/deployments/${item.metadata.id}`
  await Promise.all(
    items.map(async (item) => {
      const response = await api.stream(path(item), { watch: true }, new AbortController().signal)
      let first = true
      for await (const event of readEvents(response.body!)) {
        if (event.event !== 'object') continue
        if (first) {
          first = false // the object as the list already showed it
          continue
        }
        const changed = JSON.parse(event.data) as Resource
        const text = render(kind, [changed], format, output)
        output.out(format === 'json' || format === 'yaml' ? text : text.split('\n').slice(1).join('\n'))
      }
    }),
  )
}
