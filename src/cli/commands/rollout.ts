import type { Command } from 'commander'
import { CliError } from '../client/api.js'
import type { ApiClient } from '../client/api.js'
import { parseEnvironmentRef, type CliContext } from '../client/context.js'
import { age, paint, phaseColour, table } from '../client/output.js'
import { environmentOf, listAll, type Resource } from '../client/resources.js'
import { waitForRollout } from '../client/rollout.js'
import { seconds } from './apply.js'
import { findDeployment } from './inspect.js'

/** deploy, rollout status|history, rollback, cancel. */
export function registerRolloutCommands(program: Command, context: () => CliContext): void {
  registerDeploy(program, context)
  registerRollout(program, context)
  registerRollback(program, context)
  registerCancel(program, context)
}

function registerDeploy(program: Command, context: () => CliContext): void {
  program
    .command('deploy')
    .description("make a new revision of an environment (the newest commit of its branch, or --ref's)")
    .argument('<project/env>', 'the environment, such as shop/production')
    .option('--ref <ref>', 'a branch, tag or commit of the git source')
    .option('--wait', 'wait until it is Active and healthy; exit non-zero if it fails')
    .option('--timeout <seconds>', 'with --wait: give up after this long', '300')
    .addHelpText('after', '\nExample:\n  gilgal deploy shop/production --ref v1.4.2 --wait')
    .action(async (ref: string, options: { ref?: string; wait?: boolean; timeout: string }) => {
      const ctx = context()
      const target = parseEnvironmentRef(ref)
      const api = await ctx.api()
      const body = {
        environment: target.environment,
        ...(options.ref ? { source: { git: { ref: options.ref } } } : {}),
      }
      const created = await api.request<Resource>(
        'POST',
        `/api/projects/${encodeURIComponent(target.project)}/deployments`,
        { body },
      )
      const revision = Number(created.metadata.revision)
      ctx.output.out(`${ref}: revision ${revision} queued`)
      if (options.wait)
        await waitForRollout(api, { ...target, revision }, seconds(options.timeout), ctx.output)
    })
}

function registerRollout(program: Command, context: () => CliContext): void {
  const rollout = program.command('rollout').description('follow and inspect rollouts')
  rollout
    .command('status')
    .description('wait for the newest revision; exit 0 only when it is Active and healthy')
    .argument('<project/env>', 'the environment, such as shop/production')
    .option('--timeout <seconds>', 'give up after this long', '300')
    .addHelpText('after', '\nExample:\n  gilgal rollout status shop/production --timeout 120')
    .action(async (ref: string, options: { timeout: string }) => {
      const ctx = context()
      await waitForRollout(await ctx.api(), parseEnvironmentRef(ref), seconds(options.timeout), ctx.output)
      ctx.output.out(`${ref}: rollout complete`)
    })
  rollout
    .command('history')
    .description("an environment's revisions, newest first")
    .addHelpText('after', '\nExample:\n  gilgal rollout history shop/production')
    .argument('<project/env>', 'the environment, such as shop/production')
    .action(async (ref: string) => {
      const ctx = context()
      const revisions = await revisionsOf(await ctx.api(), parseEnvironmentRef(ref))
      const rows = revisions.map((d) => {
        const trigger = d.metadata.trigger as { type: string; by?: string } | undefined
        const phase = String(d.status.phase ?? 'Queued')
        return [
          `r${String(d.metadata.revision)}`,
          paint(ctx.output, phaseColour(phase), phase),
          String(d.status.reason ?? '-'),
          trigger ? `${trigger.type}${trigger.by ? ` by ${trigger.by}` : ''}` : '-',
          d.status.commit ? String(d.status.commit).slice(0, 12) : String(d.status.imageTag ?? '-'),
          age(d.metadata.createdAt),
        ]
      })
      ctx.output.out(table(['revision', 'phase', 'reason', 'trigger', 'source', 'age'], rows))
    })
}

function registerRollback(program: Command, context: () => CliContext): void {
  program
    .command('rollback')
    .description(
      "a new revision with an earlier one's image and configuration (by default, the one before the active one)",
    )
    .argument('<project/env>', 'the environment, such as shop/production')
    .option('--to-revision <n>', 'the revision to go back to')
    .option('--wait', 'wait until it is Active and healthy')
    .option('--timeout <seconds>', 'with --wait: give up after this long', '300')
    .addHelpText('after', '\nExample:\n  gilgal rollback shop/production --to-revision 3 --wait')
    .action(async (ref: string, options: { toRevision?: string; wait?: boolean; timeout: string }) => {
      const ctx = context()
      const api = await ctx.api()
      const target = parseEnvironmentRef(ref)
      const to = await rollbackTarget(api, target, options.toRevision)
      const created = await api.request<Resource>('POST', `/api/deployments/${to.metadata.id}/rollback`)
      const revision = Number(created.metadata.revision)
      ctx.output.out(
        `${ref}: revision ${revision} queued, with revision ${String(to.metadata.revision)}'s image and configuration`,
      )
      if (options.wait)
        await waitForRollout(api, { ...target, revision }, seconds(options.timeout), ctx.output)
    })
}

function registerCancel(program: Command, context: () => CliContext): void {
  program
    .command('cancel')
    .description('cancel a revision before it is Active: PROJECT/ENV takes its newest unfinished one')
    .argument('<target>', 'PROJECT/ENV, or a deployment id or PROJECT/ENV/rN')
    .addHelpText('after', '\nExamples:\n  gilgal cancel shop/production\n  gilgal cancel shop/production/r7')
    .action(async (ref: string) => {
      const ctx = context()
      const api = await ctx.api()
      const revision =
        ref.split('/').length === 2 ? await newestUnfinished(api, ref) : await findDeployment(api, ref)
      await api.request('DELETE', `/api/deployments/${revision.metadata.id}`)
      ctx.output.out(
        `revision ${String(revision.metadata.revision)} of ${String(revision.metadata.project)}/${String(revision.metadata.environment)}: cancellation requested`,
      )
    })
}

async function newestUnfinished(api: ApiClient, ref: string): Promise<Resource> {
  const revisions = await revisionsOf(api, parseEnvironmentRef(ref))
  const running = revisions.find((d) =>
    ['Queued', 'Building', 'Deploying', undefined].includes(d.status.phase),
  )
  if (!running) throw new CliError(`${ref} has no revision to cancel: none is queued, building or deploying`)
  return running
}

function revisionsOf(api: ApiClient, target: { project: string; environment: string }): Promise<Resource[]> {
  return listAll(api, `/api/projects/${encodeURIComponent(target.project)}/deployments`, {
    environment: target.environment,
  })
}

/** --to-revision N, else the newest revision older than the active one that was Active once. */
async function rollbackTarget(
  api: ApiClient,
  target: { project: string; environment: string },
  to: string | undefined,
): Promise<Resource> {
  const revisions = await revisionsOf(api, target)
  if (to !== undefined) {
    const found = revisions.find((d) => String(d.metadata.revision) === to)
    if (!found) throw new CliError(`${target.project}/${target.environment} has no revision ${to}`, 2)
    return found
  }
  const environment = await environmentOf(api, target)
  const active =
    (environment.status.activeDeployment as { revision: number } | null | undefined)?.revision ?? Infinity
  const earlier = revisions.find((d) => Number(d.metadata.revision) < active && d.status.readyAt)
  if (!earlier)
    throw new CliError(
      `${target.project}/${target.environment} has no earlier revision that ran: nothing to roll back to`,
    )
  return earlier
}
