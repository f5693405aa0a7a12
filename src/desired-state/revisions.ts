import { isDeepStrictEqual } from 'node:util'
import { ValidationError } from '../errors.js'
import { revisionName } from '../model/names.js'
import {
  SNAPSHOT_FIELDS,
  type EnvironmentSpec,
  type GitSource,
  type ResolvedSource,
  type RevisionSpec,
  type Source,
} from '../model/specs.js'
import { insertNextRevision, type Deployment } from '../store/deployments.js'
import type { Environment } from '../store/environments.js'
import type { Project } from '../store/projects.js'
import { recordEvent, type WriteContext } from './write-context.js'

/**
 * The source a revision builds from: the environment's own, else the project's repository, with the
 * environment's git fields (say, just `ref`) laid over the project's. Undefined when there is none.
 */
export function resolveSource(
  envSource: Source | ResolvedSource | undefined,
  repository: GitSource | undefined,
): ResolvedSource | undefined {
  if (envSource && 'image' in envSource) return { image: envSource.image }
  const git = { ...repository, ...envSource?.git }
  if (!git.url) return undefined
  // Credentials go with the URL they were given with: the environment's own, or else the project's.
  const own = envSource?.git.url !== undefined && envSource.git.url !== repository?.url
  const credentials = own
    ? envSource.git.credentials
    : (envSource?.git.credentials ?? repository?.credentials)
  return {
    git: {
      url: git.url,
      ref: git.ref ?? 'HEAD',
      path: git.path ?? '.',
      ...(credentials ? { credentials } : {}),
    },
  }
}

/** Everything that decides what a container is; undefined when the environment has no source yet. */
export function snapshotOf(
  envSpec: EnvironmentSpec,
  project: Project,
  sourceOverride?: Source,
): RevisionSpec | undefined {
  const base = resolveSource(envSpec.source, project.spec.repository)
  const source = sourceOverride
    ? resolveSource(sourceOverride, base && 'git' in base ? base.git : undefined)
    : base
  if (!source) return undefined
  return {
    framework: project.spec.framework,
    source,
    build: envSpec.build,
    env: envSpec.env,
    secretEnv: envSpec.secretEnv ?? {},
    port: envSpec.port ?? null,
    // Older rollbacks stored a null command as no command at all: both mean the image's own.
    command: envSpec.command ?? null,
    user: envSpec.user ?? null,
    resources: envSpec.resources,
    healthCheck: envSpec.healthCheck,
    // Left out when unset, as the schema gives it no default: a revision made before placement existed
    // then compares equal, and an apply does not make a new revision for nothing.
    ...(envSpec.placement ? { placement: envSpec.placement } : {}),
  }
}

/** Names of the snapshotted fields that differ (for events: names, never values). */
export function changedSnapshotFields(before: RevisionSpec | undefined, after: RevisionSpec): string[] {
  return SNAPSHOT_FIELDS.filter((field) => !isDeepStrictEqual(before?.[field], after[field]))
}

/** A git environment needs a URL from somewhere: its own source or the project's repository. */
export function assertSourceResolvable(envSpec: EnvironmentSpec, project: Project): void {
  const source = envSpec.source
  if (source && 'git' in source && !resolveSource(source, project.spec.repository)) {
    const message = 'needs a url: the project has no repository to default to'
    throw new ValidationError(`/spec/source/git ${message}`, [{ path: '/spec/source/git', message }])
  }
}

/** Creates the next revision of `environment` with `spec`, numbered under the environment's row lock. */
export async function createRevision(
  ctx: WriteContext,
  environment: Environment,
  spec: RevisionSpec,
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
    { kind: 'Deployment', id: deployment.id, name: revisionName(environment.name, deployment.revision) },
    'RevisionCreated',
    `revision ${deployment.revision} of ${environment.name}: ${details.reason}`,
  )
  return deployment
}
