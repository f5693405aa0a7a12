import { isDeepStrictEqual } from 'node:util'
import type { EnvironmentManifestSpec, EnvironmentSpec } from '../model/specs.js'
import type { Deployment } from '../store/deployments.js'
import { claimDomains } from '../store/domains.js'
import * as store from '../store/environments.js'
import type { Project } from '../store/projects.js'
import { assertDefaultHostname, assertDomainsAllowed } from './domains.js'
import type { Action } from './projects.js'
import { assertSourceResolvable, changedSnapshotFields, createRevision, snapshotOf } from './revisions.js'
import { sealEnvironmentSpec } from './sealing.js'
import { assertNotDeleting, recordEvent, type WriteContext } from './write-context.js'

/** An environment write; its spec is already validated (manifests/validate.ts). */
export interface EnvironmentInput {
  name: string
  labels?: Record<string, string>
  spec: EnvironmentManifestSpec
}

export interface EnvironmentResult {
  action: Action
  environment: store.Environment
  before?: EnvironmentSpec
  /** The revision this write created, if it changed a snapshotted field. */
  revision?: Deployment
}

/** Creates an environment and, when it has a source, its first revision, in the caller's transaction. */
export async function createEnvironment(
  ctx: WriteContext,
  project: Project,
  input: EnvironmentInput,
): Promise<EnvironmentResult> {
  assertNotDeleting(project)
  assertDefaultHostname(project.name, input.name)
  assertDomainsAllowed(ctx, input.spec.domains)
  const spec = sealEnvironmentSpec(input.spec, undefined, ctx.secretKeys)
  assertSourceResolvable(spec, project)
  const environment = await store.insertEnvironment(ctx.client, {
    projectId: project.id,
    name: input.name,
    labels: input.labels ?? {},
    spec,
  })
  await claimDomains(ctx.client, environment.id, spec.domains)
  recordEvent(ctx, project.id, objectOf(environment), 'Created', `environment ${environment.name} created`)
  const snapshot = snapshotOf(spec, project)
  const revision =
    snapshot && (await createRevision(ctx, environment, snapshot, { reason: 'first revision' }))
  return { action: 'created', environment: withRevision(environment, revision), revision }
}

/**
 * Replaces spec and labels. A change to a snapshotted field creates a revision in the same
 * transaction; `replicas`, `domains`, `rollout` and `paused` change in place. Equal input writes nothing.
 * Every stored spec claims its domains anew, so one that lists a hostname it does not hold (another
 * environment had it first when migration 0003 filled the claims in) changes only once it drops it.
 */
export async function updateEnvironment(
  ctx: WriteContext,
  project: Project,
  environment: store.Environment,
  input: Omit<EnvironmentInput, 'name'>,
): Promise<EnvironmentResult> {
  assertNotDeleting(environment)
  assertDomainsAllowed(ctx, input.spec.domains)
  const spec = sealEnvironmentSpec(input.spec, environment.spec, ctx.secretKeys)
  assertSourceResolvable(spec, project)
  const labels = input.labels ?? environment.labels
  if (isDeepStrictEqual(spec, environment.spec) && isDeepStrictEqual(labels, environment.labels)) {
    return { action: 'unchanged', environment, before: environment.spec }
  }
  const updated = await store.updateEnvironment(ctx.client, environment.id, { spec, labels })
  await claimDomains(ctx.client, updated.id, spec.domains)
  recordEvent(ctx, project.id, objectOf(updated), 'Configured', `environment ${updated.name} updated`)
  const before = snapshotOf(environment.spec, project)
  const after = snapshotOf(spec, project)
  const changed = after ? changedSnapshotFields(before, after) : []
  const revision =
    after && changed.length > 0
      ? await createRevision(ctx, updated, after, { reason: `${changed.join(', ')} changed` })
      : undefined
  return {
    action: 'configured',
    environment: withRevision(updated, revision),
    before: environment.spec,
    revision,
  }
}

export async function deleteEnvironment(
  ctx: WriteContext,
  environment: store.Environment,
): Promise<EnvironmentResult> {
  const deleted = await store.requestEnvironmentDeletion(ctx.client, environment.id)
  if (!environment.deletionRequestedAt) {
    recordEvent(
      ctx,
      environment.projectId,
      objectOf(environment),
      'DeletionRequested',
      `environment ${environment.name} will be deleted`,
    )
  }
  return { action: 'deleted', environment: deleted, before: environment.spec }
}

function withRevision(environment: store.Environment, revision: Deployment | undefined): store.Environment {
  return revision ? { ...environment, latestRevision: revision.revision } : environment
}

function objectOf(environment: store.Environment) {
  return { kind: 'Environment' as const, id: environment.id, name: environment.name }
}
