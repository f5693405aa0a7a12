/**
 * The soak's load: random valid changes to its environments through the API (config changes, scales,
 * deploys, rollbacks, cancels), and a model of what each environment was last acknowledged to be,
 * which the final checks hold the product to.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { IMAGE } from './http-app.js'
import type { Random } from './soak-options.js'
import type { Answer, Call, Json, Tally } from './soak-client.js'

export const PROJECT = 'soak'
export const ENVIRONMENT_COUNT = 20
/** The variable every config change sets to a fresh value: what an acknowledged write is checked by. */
export const VARIABLE = 'SOAK_VALUE'
const IN_PROGRESS = new Set(['Queued', 'Building', 'Deploying'])

/** What the soak last got a 2xx for, per environment. */
export interface EnvironmentModel {
  name: string
  memory: string
  value: string
  replicas: number
  /**
   * A write to it got no clear answer (5xx, or none): it may or may not have committed, so until the
   * next acknowledged write the checks take the spec's word for the value and the replicas.
   */
  uncertain: boolean
}

export interface LoadContext {
  call: Call
  tally: Tally
  random: Random
  models: EnvironmentModel[]
  /** Counts the values handed out, so that every config change is a change. */
  values: { next: number }
}

export function initialModels(random: Random): EnvironmentModel[] {
  return Array.from({ length: ENVIRONMENT_COUNT }, (_, i) => ({
    name: `e${i}`,
    memory: random.pick(['16Mi', '24Mi', '32Mi']),
    value: 'v0',
    replicas: random.int(1, 2),
    uncertain: false,
  }))
}

/** The project and every environment, as the first apply writes them. */
export function allManifests(models: EnvironmentModel[]): string {
  const project = `apiVersion: gilgal.dev/v1\nkind: Project\nmetadata: { name: ${PROJECT} }\nspec: {}\n`
  return [project, ...models.map((m) => environmentManifest(m, m.value, m.replicas))].join('---\n')
}

// Fast probes and no drain or bake window: rollouts take seconds, so a run sees many of them.
function environmentManifest(model: EnvironmentModel, value: string, replicas: number): string {
  return `apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: ${model.name}, project: ${PROJECT} }
spec:
  source: { image: ${IMAGE} }
  port: 8080
  replicas: ${replicas}
  env: { ${VARIABLE}: "${value}" }
  resources: { memory: ${model.memory}, cpus: 0.05 }
  healthCheck: { http: { path: / }, intervalSeconds: 1 }
  rollout: { drainSeconds: 0, monitorSeconds: 0 }
`
}

type Action = (ctx: LoadContext, model: EnvironmentModel) => Promise<void>

// Weighted: config changes and cancels make the revisions that the rollbacks and cancels need.
const ACTIONS: Array<[string, number, Action]> = [
  ['config', 30, changeConfig],
  ['scale', 20, scale],
  ['deploy', 15, deploy],
  ['rollback', 15, rollback],
  ['cancel', 20, cancel],
]

/**
 * Until `until` (epoch ms) or `stop`: every 0.5-2 s an action on a random environment that no action
 * is busy with. Actions run side by side (a slow answer does not slow the load down), but never two on
 * one environment: the model of what it was last acknowledged to be must follow the order of the writes.
 */
export async function runLoad(ctx: LoadContext, until: number, stop: AbortSignal): Promise<void> {
  const busy = new Set<string>()
  const inFlight = new Set<Promise<void>>()
  while (Date.now() < until && !stop.aborted) {
    const free = ctx.models.filter((m) => !busy.has(m.name))
    if (free.length > 0) {
      const model = ctx.random.pick(free)
      const [type, , action] = pickWeighted(ctx.random)
      busy.add(model.name)
      ctx.tally.action(type)
      const running: Promise<void> = action(ctx, model)
        .catch((error: unknown) => ctx.tally.fail(`${type} ${model.name}: ${String(error)}`))
        .finally(() => {
          busy.delete(model.name)
          inFlight.delete(running)
        })
      inFlight.add(running)
    }
    // Pacing the load, not waiting for anything: this delay is what makes it ~1 action a second.
    const pause = Math.min(ctx.random.between(500, 2000), Math.max(0, until - Date.now()))
    await delay(pause, undefined, { signal: stop }).catch(() => undefined)
  }
  await Promise.all(inFlight)
}

function pickWeighted(random: Random): [string, number, Action] {
  const total = ACTIONS.reduce((sum, [, weight]) => sum + weight, 0)
  let draw = random.next() * total
  for (const entry of ACTIONS) if ((draw -= entry[1]) < 0) return entry
  return ACTIONS[0]!
}

/** Applies the environment with `value` and `replicas`; the model follows only an acknowledged write. */
async function apply(ctx: LoadContext, model: EnvironmentModel, value: string, replicas: number) {
  const manifest = environmentManifest(model, value, replicas)
  const answer = await ctx.call('POST', '/api/apply', manifest, 'application/yaml')
  const outcome = ctx.tally.classify(answer, `apply ${model.name}`)
  if (outcome === 'ok') Object.assign(model, { value, replicas, uncertain: false })
  else if (answer.status === 0 || answer.status >= 500) model.uncertain = true
  return { answer, outcome }
}

/** A new value of the variable: a new revision. */
async function changeConfig(ctx: LoadContext, model: EnvironmentModel): Promise<void> {
  await apply(ctx, model, `v${++ctx.values.next}`, model.replicas)
}

/** Another replica count in 1..3: changes in place, no revision. */
async function scale(ctx: LoadContext, model: EnvironmentModel): Promise<void> {
  const others = [1, 2, 3].filter((n) => n !== model.replicas)
  await apply(ctx, model, model.value, ctx.random.pick(others))
}

/** A redeploy of the environment's own configuration: a new revision with the same spec. */
async function deploy(ctx: LoadContext, model: EnvironmentModel): Promise<void> {
  const body = { environment: model.name }
  const answer = await ctx.call('POST', `/api/projects/${PROJECT}/deployments`, body)
  ctx.tally.classify(answer, `deploy ${model.name}`)
}

/** The newest revisions of the environment, newest first (the list's order). */
async function revisions(ctx: LoadContext, model: EnvironmentModel, limit: number): Promise<Answer> {
  const path = `/api/projects/${PROJECT}/deployments?environment=${model.name}&limit=${limit}`
  const answer = await ctx.call('GET', path)
  ctx.tally.classify(answer, `list revisions of ${model.name}`)
  return answer
}

/**
 * Back to a random earlier revision that once served (as `gilgal rollback --to-revision` would):
 * the rollback restores its configuration in the spec, so the model takes the value it had.
 */
async function rollback(ctx: LoadContext, model: EnvironmentModel): Promise<void> {
  const list = await revisions(ctx, model, 20)
  const items: Json[] = list.body.items ?? []
  const active = items.find((d) => d.status.phase === 'Active')
  const earlier = items.filter(
    (d) => active && d.metadata.revision < active.metadata.revision && d.status.readyAt && d.status.imageId,
  )
  if (earlier.length === 0) return ctx.tally.note('rollback with nothing to go back to (skipped)')
  const target = ctx.random.pick(earlier)
  const answer = await ctx.call('POST', `/api/deployments/${target.metadata.id}/rollback`)
  const outcome = ctx.tally.classify(answer, `rollback ${model.name} to r${target.metadata.revision}`)
  if (outcome === 'ok') Object.assign(model, { value: answer.body.spec.env[VARIABLE], uncertain: false })
  else if (answer.status === 0 || answer.status >= 500) model.uncertain = true
}

/**
 * Cancels a revision in progress. When none is, one is made (a config change) and cancelled after
 * 0-8 s (a rollout takes a few seconds here, more behind others), so that cancels land in every
 * phase: queued, building, deploying, and too late (409).
 */
async function cancel(ctx: LoadContext, model: EnvironmentModel): Promise<void> {
  const list = await revisions(ctx, model, 5)
  const items: Json[] = list.body.items ?? []
  let victim = items.find((d) => IN_PROGRESS.has(d.status.phase ?? 'Queued'))
  if (!victim) {
    ctx.tally.note('cancel of a revision it made (none in progress)')
    const { answer, outcome } = await apply(ctx, model, `v${++ctx.values.next}`, model.replicas)
    if (outcome !== 'ok') return
    // Pacing again: how far the new revision gets before the cancel is what this varies.
    await delay(ctx.random.between(0, 8000))
    const made = answer.body.items?.find((i: { kind: string }) => i.kind === 'Environment')?.revision
    const newest = await revisions(ctx, model, 5)
    victim = newest.body.items?.find((d: { metadata: { revision: number } }) => d.metadata.revision === made)
    if (!victim) return ctx.tally.fail(`cancel ${model.name}: revision r${made} not listed`)
  }
  const answer = await ctx.call('DELETE', `/api/deployments/${victim.metadata.id}`)
  // The revision may have finished between the list and the cancel: 409 is the API's right answer.
  ctx.tally.classify(answer, `cancel ${model.name} r${victim.metadata.revision}`, [
    'GILGAL_DEPLOYMENT_FINISHED',
  ])
}
