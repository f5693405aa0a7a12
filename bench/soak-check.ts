/**
 * The soak's end: what the API, the database and Docker say, the invariants they must agree on once
 * the changes and the kills stop, and the wait (with a deadline) until they do.
 */
import type pg from 'pg'
import { LABELS } from '../src/runtime/labels.js'
import { docker } from '../test/helpers/docker.js'
import { ok } from './http-app.js'
import type { Call, Json, Tally } from './soak-client.js'
import { PROJECT, VARIABLE, type EnvironmentModel } from './soak-load.js'

const REPLICA_LABEL = 'dev.gilgal.replica'

interface EnvironmentView {
  id: string
  name: string
  generation: number
  spec: { replicas?: number; env?: Record<string, string> }
  status: Json
}

interface RevisionRow {
  id: string
  environmentId: string
  revision: number
  phase: string
  reason: string | null
  value: string | null
}

interface ContainerView {
  id: string
  name: string
  running: boolean
  environmentId: string | undefined
  deploymentId: string | undefined
  replica: string | undefined
  publicPort: number | undefined
}

/** What the API, the database and Docker say, read one after the other. */
export interface Observation {
  environments: EnvironmentView[]
  revisions: RevisionRow[]
  containers: ContainerView[]
}

export interface Check {
  name: string
  ok: boolean
  /** What is wrong, in words (empty when ok). */
  problems: string[]
}

export interface SoakDeps {
  call: Call
  tally: Tally
  pool: pg.Pool
  instance: string
  models: EnvironmentModel[]
}

export async function observe(deps: SoakDeps): Promise<Observation> {
  const answer = await deps.call('GET', `/api/projects/${PROJECT}/environments?limit=100`)
  deps.tally.classify(answer, 'list environments')
  const environments = ((answer.body.items ?? []) as Json[]).map((e) => ({
    id: e.metadata.id,
    name: e.metadata.name,
    generation: Number(e.metadata.generation),
    spec: e.spec,
    status: e.status ?? {},
  }))
  const { rows: revisions } = await deps.pool.query<RevisionRow>(
    `select d.id, d.environment_id as "environmentId", d.revision,
            coalesce(d.status->>'phase', 'Queued') as phase, d.status->>'reason' as reason,
            d.spec->'env'->>$2 as value
       from deployments d join projects p on p.id = d.project_id
      where p.name = $1 order by d.revision`,
    [PROJECT, VARIABLE],
  )
  const listed = await docker.listContainers({
    all: true,
    filters: { label: [`${LABELS.instance}=${deps.instance}`] },
  })
  const containers = listed.map((c) => ({
    id: c.Id,
    name: c.Names[0]?.replace(/^\//, '') ?? c.Id,
    running: c.State === 'running',
    environmentId: c.Labels[LABELS.environment],
    deploymentId: c.Labels[LABELS.deployment],
    replica: c.Labels[REPLICA_LABEL],
    publicPort: c.Ports.find((p) => p.PublicPort)?.PublicPort,
  }))
  return { environments, revisions, containers }
}

const check = (name: string, problems: string[]): Check => ({ name, ok: problems.length === 0, problems })
const activeOf = (o: Observation, environmentId: string) =>
  o.revisions.filter((r) => r.environmentId === environmentId && r.phase === 'Active')
const containersOf = (o: Observation, environmentId: string) =>
  o.containers.filter((c) => c.environmentId === environmentId)
const replicasOf = (env: EnvironmentView) => env.spec.replicas ?? 1

/** The invariants that need only the observation; `liveChecks` adds those that ask the containers. */
export function stateChecks(o: Observation, models: EnvironmentModel[]): Check[] {
  const converged = o.environments.flatMap((e) =>
    e.status.phase === 'Available' && e.status.observedGeneration === e.generation
      ? []
      : [
          `${e.name}: ${e.status.phase} (${e.status.reason ?? '-'}), ` +
            `observed ${e.status.observedGeneration} of generation ${e.generation}`,
        ],
  )
  const missing = models.filter((m) => !o.environments.some((e) => e.name === m.name)).map((m) => m.name)
  const oneActive = o.environments.flatMap((e) => {
    const active = activeOf(o, e.id)
    return active.length === 1 ? [] : [`${e.name}: ${active.length} Active revisions`]
  })
  return [
    check(`all ${models.length} environments Available, observedGeneration == generation`, [
      ...missing.map((name) => `${name}: not listed`),
      ...converged,
    ]),
    check('exactly one Active revision per environment', oneActive),
    check(
      "each environment runs exactly its Active revision's containers, count == replicas",
      containerProblems(o),
    ),
    check('no orphan container (every one has a known environment and revision)', orphanProblems(o)),
    check('no duplicate container (name, or revision and replica)', duplicateProblems(o)),
    check('status (active revision, replicas, URLs) matches Docker', statusProblems(o)),
    check('every acknowledged write is in the spec and the Active revision', writeProblems(o, models)),
  ]
}

function containerProblems(o: Observation): string[] {
  return o.environments.flatMap((e) => {
    const [active] = activeOf(o, e.id)
    const mine = containersOf(o, e.id)
    const problems = mine.flatMap((c) => [
      ...(c.deploymentId === active?.id ? [] : [`${e.name}: ${c.name} is not of the Active revision`]),
      ...(c.running ? [] : [`${e.name}: ${c.name} is not running`]),
    ])
    const slots = mine.map((c) => c.replica).sort()
    const wanted = Array.from({ length: replicasOf(e) }, (_, i) => String(i)).sort()
    if (slots.join() !== wanted.join())
      problems.push(`${e.name}: replicas [${slots.join(',')}] run, [${wanted.join(',')}] wanted`)
    return problems
  })
}

function orphanProblems(o: Observation): string[] {
  const known = new Map(o.environments.map((e) => [e.id, e.name]))
  return o.containers.flatMap((c) => {
    if (!c.environmentId || !known.has(c.environmentId)) return [`${c.name}: no known environment`]
    const ofIt = o.revisions.some((r) => r.id === c.deploymentId && r.environmentId === c.environmentId)
    return ofIt ? [] : [`${c.name}: no known revision of ${known.get(c.environmentId)}`]
  })
}

function duplicateProblems(o: Observation): string[] {
  const seen = new Map<string, number>()
  for (const c of o.containers) {
    for (const key of [`name ${c.name}`, `slot ${c.deploymentId}/${c.replica}`])
      seen.set(key, (seen.get(key) ?? 0) + 1)
  }
  return [...seen].filter(([, count]) => count > 1).map(([key, count]) => `${key}: ${count} containers`)
}

function statusProblems(o: Observation): string[] {
  return o.environments.flatMap((e) => {
    const [active] = activeOf(o, e.id)
    const running = containersOf(o, e.id).filter((c) => c.running && c.deploymentId === active?.id)
    const problems: string[] = []
    if (e.status.activeDeployment?.id !== active?.id)
      problems.push(
        `${e.name}: status names r${e.status.activeDeployment?.revision}, r${active?.revision} is Active`,
      )
    const { desired, ready } = e.status.replicas ?? {}
    if (desired !== replicasOf(e) || ready !== running.length)
      problems.push(
        `${e.name}: status ${ready}/${desired} ready, Docker runs ${running.length} of ${replicasOf(e)}`,
      )
    const urls = ((e.status.urls ?? []) as string[]).map((u) => Number(new URL(u).port)).sort()
    const ports = running.map((c) => c.publicPort).sort()
    if (urls.join() !== ports.join())
      problems.push(`${e.name}: status URLs on ports [${urls.join(',')}], containers on [${ports.join(',')}]`)
    return problems
  })
}

function writeProblems(o: Observation, models: EnvironmentModel[]): string[] {
  return models.flatMap((m) => {
    const e = o.environments.find((x) => x.name === m.name)
    if (!e) return []
    const spec = e.spec.env?.[VARIABLE]
    // After a write without a clear answer the spec's word is taken (see EnvironmentModel.uncertain).
    const value = m.uncertain ? spec : m.value
    const problems: string[] = []
    if (spec !== value) problems.push(`${m.name}: spec has ${VARIABLE}=${spec}, last acknowledged ${value}`)
    if (!m.uncertain && replicasOf(e) !== m.replicas)
      problems.push(`${m.name}: spec has replicas ${replicasOf(e)}, last acknowledged ${m.replicas}`)
    const [active] = activeOf(o, e.id)
    if (active && active.value !== value)
      problems.push(`${m.name}: Active r${active.revision} has ${VARIABLE}=${active.value}, spec ${value}`)
    return problems
  })
}

/** The containers themselves: each status URL answers, and each container runs the spec's value. */
export async function liveChecks(o: Observation): Promise<Check[]> {
  const urls = o.environments.flatMap((e) => ((e.status.urls ?? []) as string[]).map((url) => ({ e, url })))
  const answers = await Promise.all(
    urls.map(async ({ e, url }) => ((await ok(url)) ? [] : [`${e.name}: ${url}`])),
  )
  const values = await Promise.all(
    o.containers.map(async (c) => {
      const e = o.environments.find((x) => x.id === c.environmentId)
      // A container removed since the observation reads as having no value: the check fails, as it should.
      const inspected = await docker
        .getContainer(c.id)
        .inspect()
        .catch(() => undefined)
      const env = inspected?.Config.Env ?? []
      const value = env.find((v) => v.startsWith(`${VARIABLE}=`))?.slice(VARIABLE.length + 1)
      const wanted = e?.spec.env?.[VARIABLE]
      return value === wanted ? [] : [`${c.name}: runs ${VARIABLE}=${value}, spec ${wanted}`]
    }),
  )
  return [
    check(`every status URL answers (${urls.length})`, answers.flat()),
    check("every container runs its environment's spec value", values.flat()),
  ]
}
