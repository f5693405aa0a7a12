import { isDeepStrictEqual } from 'node:util'
import { ConflictError, ValidationError } from '../errors.js'
import * as deployments from '../store/deployments.js'
import * as environments from '../store/environments.js'
import type { Project, Spec } from '../store/projects.js'
import { assertNotDeleting, recordEvent, type WriteContext } from './context.js'
import type { Action } from './projects.js'
import { createRevision, SNAPSHOT_FIELDS, snapshotOf } from './revisions.js'
import { assertPlainData, assertSourceAllowed } from './specs.js'

type Source = { git: { url?: string; ref?: string; path?: string } } | { image: string }

/**
 * A deploy: a new revision from the environment's current configuration, optionally from another
 * source (e.g. a ref or an image). Named deploys (`kind: Deployment` manifests) are idempotent by name.
 */
export async function deploy(
  ctx: WriteContext,
  project: Project,
  environment: environments.Environment,
  request: { source?: Source; name?: string },
): Promise<{ action: Action; deployment: deployments.Deployment }> {
  assertPlainData(request.source, '/spec/source')
  assertSourceAllowed(request.source, '/source/git/url', ctx.options)
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
function sameRequest(stored: Spec, requested: Spec): boolean {
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
  if (typeof imageId !== 'string') {
    throw new ConflictError(
      `revision ${target.revision} never produced an image, so there is nothing to roll back to`,
      'GILGAL_NO_IMAGE',
    )
  }
  const spec: Spec = {
    ...target.spec,
    source: pinnedSource(target),
    // A tag may have moved since: the image that ran is what comes back (when the engine still has it).
    ...('image' in (target.spec.source as Source) ? { pinnedImageId: imageId } : {}),
    rollbackOf: { id: target.id, revision: target.revision },
  }
  const restored: Spec = { ...environment!.spec }
  // The configuration goes back; the source does not: the environment keeps following its ref, and
  // only this revision is pinned to the commit that ran.
  for (const field of SNAPSHOT_FIELDS) if (field !== 'source') restored[field] = spec[field] ?? undefined
  await environments.updateEnvironment(ctx.client, environment!.id, {
    spec: restored,
    labels: environment!.labels,
  })
  return createRevision(ctx, environment!, spec, {
    trigger: { type: 'rollback', by: ctx.actor },
    reason: `rollback to revision ${target.revision}`,
  })
}

function pinnedSource(target: deployments.Deployment): Source {
  const source = target.spec.source as Source
  const commit = target.status.commit
  return 'git' in source && typeof commit === 'string' ? { git: { ...source.git, ref: commit } } : source
}

/** Requests cancellation; a revision that already finished cannot be cancelled (409). */
export async function cancel(
  ctx: WriteContext,
  deployment: deployments.Deployment,
): Promise<deployments.Deployment> {
  const phase = String(deployment.status.phase ?? 'Queued')
  if ((deployments.TERMINAL_PHASES as readonly string[]).includes(phase)) {
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
      name: `${deployment.environmentName}-r${deployment.revision}`,
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
