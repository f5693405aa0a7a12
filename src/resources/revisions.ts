import { isDeepStrictEqual } from 'node:util'
import { ValidationError } from '../errors.js'
import { insertNextRevision, type Deployment } from '../store/deployments.js'
import type { Environment } from '../store/environments.js'
import type { Project, Spec } from '../store/projects.js'
import { recordEvent, type WriteContext } from './context.js'

/** The Environment fields a revision snapshots (DESIGN.md section 1); the rest change in place. */
export const SNAPSHOT_FIELDS = [
  'source',
  'build',
  'env',
  'secretEnv',
  'port',
  'command',
  'resources',
  'healthCheck',
] as const

interface GitSource {
  url?: string
  ref?: string
  path?: string
}
type Source = { git: GitSource } | { image: string }

/**
 * The source a revision builds from: the environment's own, else the project's repository, with the
 * environment's git fields (say, just `ref`) laid over the project's. Undefined when there is none.
 */
export function resolveSource(
  envSource: Source | undefined,
  repository: GitSource | undefined,
): Source | undefined {
  if (envSource && 'image' in envSource) return { image: envSource.image }
  const git = { ...repository, ...(envSource?.git ?? {}) }
  if (!git.url) return undefined
  return { git: { url: git.url, ref: git.ref ?? 'HEAD', path: git.path ?? '.' } }
}

/** Everything that decides what a container is; undefined when the environment has no source yet. */
export function snapshotOf(envSpec: Spec, project: Project, sourceOverride?: Source): Spec | undefined {
  const base = resolveSource(
    envSpec.source as Source | undefined,
    project.spec.repository as GitSource | undefined,
  )
  const source = sourceOverride
    ? resolveSource(sourceOverride, base && 'git' in base ? base.git : undefined)
    : base
  if (!source) return undefined
  const snapshot: Spec = { framework: project.spec.framework ?? 'auto' }
  for (const field of SNAPSHOT_FIELDS) snapshot[field] = envSpec[field] ?? null
  snapshot.source = source
  snapshot.secretEnv = envSpec.secretEnv ?? {}
  return snapshot
}

/** Names of the snapshotted fields that differ (for events: names, never values). */
export function changedSnapshotFields(before: Spec | undefined, after: Spec): string[] {
  return [...SNAPSHOT_FIELDS].filter((field) => !isDeepStrictEqual(before?.[field], after[field]))
}

/** A git environment needs a URL from somewhere: its own source or the project's repository. */
export function assertSourceResolvable(envSpec: Spec, project: Project): void {
  const source = envSpec.source as Source | undefined
  if (source && 'git' in source && !resolveSource(source, project.spec.repository as GitSource | undefined)) {
    const message = 'needs a url: the project has no repository to default to'
    throw new ValidationError(`/spec/source/git ${message}`, [{ path: '/spec/source/git', message }])
  }
}

/** Creates the next revision of `environment` with `spec`, numbered under the environment's row lock. */
export async function createRevision(
  ctx: WriteContext,
  environment: Environment,
  spec: Spec,
  details: { name?: string; trigger?: Deployment['trigger']; reason: string },
): Promise<Deployment> {
  const deployment = await insertNextRevision(ctx.client, {
    projectId: environment.projectId,
    environmentId: environment.id,
    name: details.name,
    trigger: details.trigger ?? { type: ctx.triggerType, by: ctx.actor },
    spec,
  })
  recordEvent(
    ctx,
    environment.projectId,
    { kind: 'Deployment', id: deployment.id, name: `${environment.name}-r${deployment.revision}` },
    'RevisionCreated',
    `revision ${deployment.revision} of ${environment.name}: ${details.reason}`,
  )
  return deployment
}
