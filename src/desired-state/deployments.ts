import { isDeepStrictEqual } from 'node:util'
import { ConflictError, ValidationError } from '../errors.js'
import { revisionName } from '../model/names.js'
import { FINISHED_PHASES, isPhaseIn } from '../model/phases.js'
import type { EnvironmentSpec, ResolvedSource, RevisionSpec, SnapshotField, Source } from '../model/specs.js'
import * as deployments from '../store/deployments.js'
import * as environments from '../store/environments.js'
import type { Project } from '../store/projects.js'
import type { Action } from './projects.js'
import { createRevision, snapshotOf } from './revisions.js'
import { assertNotDeleting, recordEvent, type WriteContext } from './write-context.js'

/**
 * A deploy: a new revision from the environment's current configuration, optionally from another
 * source (e.g. a ref or an image; already validated). Named deploys (`kind: Deployment` manifests)
 * are idempotent by name.
 */
export async function deploy(
  ctx: WriteContext,
  project: Project,
  environment: environments.Environment,
  request: { source?: Source; name?: string },
): Promise<{ action: Action; deployment: deployments.Deployment }> {
  assertNotDeleting(project)
  assertNotDeleting(environment)
  const spec = snapshotOf(environment.spec, project, request.source)
  if (!spec) {
    const message =
      'has no source: give the environment (or its project) a repository or an image, or send one'
    throw new ValidationError(`environment ${environment.name} ${message}`, [{ path: '/source', message }])
  }
  if (request.name) {
    const existing = await deployments.findDeploymentByName(ctx.client, environment.id, request.name)
    if (existing && sameRequest(existing.spec, spec)) return { action: 'unchanged', deployment: existing }
    if (existing)
      throw new ConflictError(
        `deployment ${request.name} exists with another spec; a deployment's spec cannot change`,
        'GILGAL_DEPLOYMENT_IMMUTABLE',
      )
  }
  const deployment = await createRevision(ctx, environment, spec, {
    name: request.name,
    reason: `deploy requested`,
  })
  return { action: 'created', deployment }
}

// A named deploy is compared on its source: the environment may have moved on since it was created.
function sameRequest(stored: RevisionSpec, requested: RevisionSpec): boolean {
  return isDeepStrictEqual(stored.source, requested.source)
}

/**
 * Rollback as a desired-state write (as in Heroku): a new revision with the old one's full
 * configuration, secrets included, pinned to the commit it ran; the environment's configuration fields
 * are restored to match (so the next config change does not bring back the config rolled away from),
 * while its source keeps following its ref.
 */
export async function rollback(
  ctx: WriteContext,
  target: deployments.Deployment,
): Promise<deployments.Deployment> {
  const environment = await environments.findOwnedEnvironment(
    ctx.client,
    ctx.ownerId,
    target.environmentId,
    true,
  )
  assertNotDeleting(environment!)
  const imageId = target.status.imageId
  if (imageId === undefined) {
    throw new ConflictError(
      `revision ${target.revision} never produced an image, so there is nothing to roll back to`,
      'GILGAL_NO_IMAGE',
    )
  }
  const spec: RevisionSpec = {
    ...target.spec,
    source: pinnedSource(target),
    // A tag may have moved since: the image that ran is what comes back (when the engine still has it).
    ...('image' in target.spec.source ? { pinnedImageId: imageId } : {}),
    rollbackOf: { id: target.id, revision: target.revision },
  }
  await environments.updateEnvironment(ctx.client, environment!.id, {
    spec: restoredConfiguration(environment!.spec, spec),
    labels: environment!.labels,
  })
  return createRevision(ctx, environment!, spec, {
    trigger: { type: 'rollback', by: ctx.actor },
    reason: `rollback to revision ${target.revision}`,
  })
}

/**
 * The environment's spec with a revision's configuration back. The source is not restored: the
 * environment keeps following its ref, and only the rollback's revision is pinned to the commit that ran.
 */
function restoredConfiguration(current: EnvironmentSpec, revision: RevisionSpec): EnvironmentSpec {
  // Every snapshot field but the source: a field added to SNAPSHOT_FIELDS fails to compile here until
  // a rollback restores it too.
  const restored = {
    build: revision.build,
    env: revision.env,
    secretEnv: revision.secretEnv,
    port: revision.port ?? undefined,
    command: revision.command,
    user: revision.user ?? null,
    resources: revision.resources,
    healthCheck: revision.healthCheck,
    placement: revision.placement,
  } satisfies Record<Exclude<SnapshotField, 'source'>, unknown>
  return { ...current, ...restored }
}

function pinnedSource(target: deployments.Deployment): ResolvedSource {
  const { source } = target.spec
  const commit = target.status.commit
  return 'git' in source && commit !== undefined ? { git: { ...source.git, ref: commit } } : source
}

/** Requests cancellation; a revision that already finished cannot be cancelled (409). */
export async function cancel(
  ctx: WriteContext,
  deployment: deployments.Deployment,
): Promise<deployments.Deployment> {
  const phase = deployment.status.phase ?? 'Queued'
  if (isPhaseIn(phase, FINISHED_PHASES)) {
    throw new ConflictError(
      `revision ${deployment.revision} is ${phase}: only a revision in progress can be cancelled`,
      'GILGAL_DEPLOYMENT_FINISHED',
    )
  }
  const cancelled = await deployments.requestCancel(ctx.client, deployment.id)
  if (!deployment.cancelRequestedAt) {
    const object = {
      kind: 'Deployment' as const,
      id: deployment.id,
      name: revisionName(deployment.environmentName, deployment.revision),
    }
    recordEvent(
      ctx,
      deployment.projectId,
      object,
      'CancelRequested',
      `cancel of revision ${deployment.revision} requested`,
    )
  }
  return cancelled
}
