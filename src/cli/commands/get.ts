import type { Command } from 'commander'
import { CliError } from '../client/api.js'
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
    .addHelpText(
      'after',
      '\nExamples:\n  gilgal get environments\n  gilgal get deployments -p shop -e production -o yaml',
    )
    .action(async (kind: string, options: { project?: string; environment?: string; output: string }) => {
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
    })
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
