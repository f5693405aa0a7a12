import { isDeepStrictEqual } from 'node:util'
import { ValidationError } from '../errors.js'
import * as store from '../store/projects.js'
import type { ProjectSpec } from '../model/specs.js'
import { sealProjectSpec } from './sealing.js'
import { assertNotDeleting, recordEvent, type WriteContext } from './write-context.js'

/** A project write; its spec is already validated (manifests/validate.ts). */
export interface ProjectInput {
  name: string
  labels?: Record<string, string>
  spec: ProjectSpec
}

export type Action = 'created' | 'configured' | 'unchanged' | 'deleted'

/** A project write: what happened, the object as it now stands, and the spec as it stood before. */
export interface ProjectResult {
  action: Action
  project: store.Project
  before?: ProjectSpec
}

const NAME = /^(?!.*--)[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/

/**
 * The project name (a DNS label) for what a person typed: "My Shop!" becomes "my-shop", as Vercel does.
 * Throws when nothing usable is left.
 */
export function slugify(text: string): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '')
  if (!NAME.test(slug)) {
    const message = 'needs at least one letter or digit'
    throw new ValidationError(`name ${JSON.stringify(text)} ${message}`, [{ path: '/name', message }])
  }
  return slug
}

export async function createProject(ctx: WriteContext, input: ProjectInput): Promise<ProjectResult> {
  const spec = sealProjectSpec(input.spec, undefined, ctx.secretKeys)
  const project = await store.insertProject(ctx.client, {
    ownerId: ctx.ownerId,
    name: input.name,
    labels: input.labels ?? {},
    spec,
  })
  recordEvent(
    ctx,
    project.id,
    { kind: 'Project', id: project.id, name: project.name },
    'Created',
    `project ${project.name} created`,
  )
  return { action: 'created', project }
}

/** Replaces spec and labels; `unchanged` (and no write at all) when both are equal to what is stored. */
export async function updateProject(
  ctx: WriteContext,
  project: store.Project,
  input: Omit<ProjectInput, 'name'>,
): Promise<ProjectResult> {
  assertNotDeleting(project)
  const spec = sealProjectSpec(input.spec, project.spec, ctx.secretKeys)
  const labels = input.labels ?? project.labels
  if (isDeepStrictEqual(spec, project.spec) && isDeepStrictEqual(labels, project.labels)) {
    return { action: 'unchanged', project, before: project.spec }
  }
  const updated = await store.updateProject(ctx.client, project.id, { spec, labels })
  recordEvent(
    ctx,
    project.id,
    { kind: 'Project', id: project.id, name: project.name },
    'Configured',
    `project ${project.name} updated`,
  )
  return { action: 'configured', project: updated, before: project.spec }
}

export async function deleteProject(ctx: WriteContext, project: store.Project): Promise<ProjectResult> {
  const deleted = await store.requestProjectDeletion(ctx.client, project.id)
  if (!project.deletionRequestedAt) {
    recordEvent(
      ctx,
      project.id,
      { kind: 'Project', id: project.id, name: project.name },
      'DeletionRequested',
      `project ${project.name} will be deleted`,
    )
  }
  return { action: 'deleted', project: deleted }
}
