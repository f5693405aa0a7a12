import type { Command } from 'commander'
import { stringify } from 'yaml'
import { CliError } from '../client/api.js'
import type { CliContext } from '../client/context.js'
import { readManifests } from '../client/manifests.js'
import { paint, type Output } from '../client/output.js'
import { waitForRollout } from '../client/rollout.js'

interface Change {
  path: string
  op: 'add' | 'remove' | 'replace'
  before?: unknown
  after?: unknown
  secret?: true
}

interface AppliedItem {
  kind: string
  name: string
  project: string
  environment?: string
  action: 'created' | 'configured' | 'unchanged' | 'deleted'
  revision?: number
  diff?: Change[]
}

const collect = (value: string, previous: string[] = []) => [...previous, value]
const DEFAULT_TIMEOUT = '300'

/** apply and diff. */
export function registerApplyCommands(program: Command, context: () => CliContext): void {
  registerApply(program, context)
  registerDiff(program, context)
}

function registerApply(program: Command, context: () => CliContext): void {
  program
    .command('apply')
    .description('create or update what the manifests describe, all or nothing')
    .requiredOption('-f, --filename <path>', 'a file, a directory of them, or - for standard input', collect)
    .option('--dry-run', 'say what would change, change nothing')
    .option('--prune', "delete the named projects' environments the manifests no longer list")
    .option('--wait', 'wait until each new revision is Active and healthy; exit non-zero if one fails')
    .option('--timeout <seconds>', 'with --wait: give up after this long', DEFAULT_TIMEOUT)
    .addHelpText(
      'after',
      '\nExamples:\n  gilgal apply -f shop.yaml --wait\n  gilgal apply -f manifests/ --prune --dry-run',
    )
    .action(
      async (options: {
        filename: string[]
        dryRun?: boolean
        prune?: boolean
        wait?: boolean
        timeout: string
      }) => {
        const ctx = context()
        const api = await ctx.api()
        const items = await applyManifests(
          ctx,
          options.filename,
          Boolean(options.dryRun),
          Boolean(options.prune),
        )
        for (const item of items) ctx.output.out(describeItem(item, Boolean(options.dryRun)))
        if (!options.wait || options.dryRun) return
        for (const item of items.filter((i) => i.revision !== undefined)) {
          const target = {
            project: item.project,
            environment: item.environment ?? item.name,
            revision: item.revision,
          }
          ctx.output.out(
            `waiting for ${target.project}/${target.environment} revision ${String(item.revision)}`,
          )
          await waitForRollout(api, target, seconds(options.timeout), ctx.output)
        }
      },
    )
}

function registerDiff(program: Command, context: () => CliContext): void {
  program
    .command('diff')
    .description('what apply would change; exit 0 when nothing, 1 when something, 2 or more on error')
    .requiredOption('-f, --filename <path>', 'a file, a directory of them, or - for standard input', collect)
    .addHelpText('after', '\nExample:\n  gilgal diff -f shop.yaml && echo "up to date"')
    .action(async (options: { filename: string[] }) => {
      const ctx = context()
      const items = await applyManifests(ctx, options.filename, true, false).catch((error: Error) => {
        throw new CliError(error.message, 2)
      })
      const changed = items.filter((item) => item.action !== 'unchanged')
      for (const item of changed) ctx.output.out(unifiedDiff(item, ctx.output))
      if (changed.length > 0) process.exitCode = 1
    })
}

async function applyManifests(
  ctx: CliContext,
  files: string[],
  dryRun: boolean,
  prune: boolean,
): Promise<AppliedItem[]> {
  const body = await readManifests(files)
  const api = await ctx.api()
  const answer = await api.request<{ items: AppliedItem[] }>('POST', '/api/apply', {
    body,
    type: 'application/yaml',
    query: { dryRun, prune },
  })
  return answer.items
}

export function seconds(value: string): number {
  const parsed = Number(value)
  if (!Number.isFinite(parsed) || parsed <= 0)
    throw new CliError(`--timeout ${value} is not a number of seconds`, 2)
  return parsed * 1000
}

function objectName(item: AppliedItem): string {
  const kind = item.kind.toLowerCase()
  if (item.kind === 'Project') return `${kind}/${item.name}`
  if (item.kind === 'Environment') return `${kind}/${item.project}/${item.name}`
  return `${kind}/${item.project}/${item.environment ?? '?'}/${item.name}`
}

function describeItem(item: AppliedItem, dryRun: boolean): string {
  const revision = item.revision === undefined ? '' : ` (revision ${item.revision})`
  return `${objectName(item)} ${item.action}${revision}${dryRun ? ' (dry run)' : ''}`
}

/** One object's changes as a unified diff: `-` the live value, `+` the manifest's, by field. */
function unifiedDiff(item: AppliedItem, output: Output): string {
  const lines = [
    paint(output, 'bold', `--- ${objectName(item)} (live)`),
    paint(output, 'bold', `+++ ${objectName(item)} (manifest)`),
  ]
  if (item.action === 'created') lines.push(paint(output, 'cyan', '@@ new object @@'))
  for (const change of item.diff ?? []) {
    lines.push(paint(output, 'cyan', `@@ ${change.path} @@`))
    if (change.secret) {
      lines.push(
        paint(
          output,
          'yellow',
          `~ (write-only value ${change.op === 'replace' ? 'changed' : change.op === 'add' ? 'set' : 'removed'})`,
        ),
      )
      continue
    }
    if (change.op !== 'add') lines.push(...valueLines(change.before, '-').map((l) => paint(output, 'red', l)))
    if (change.op !== 'remove')
      lines.push(...valueLines(change.after, '+').map((l) => paint(output, 'green', l)))
  }
  return lines.join('\n')
}

function valueLines(value: unknown, sign: '-' | '+'): string[] {
  return stringify(value)
    .trimEnd()
    .split('\n')
    .map((line) => `${sign}${line}`)
}
