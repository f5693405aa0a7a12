import { GilgalError, NotFoundError, ValidationError } from '../errors.js'
import { diffSpecs, type Change } from '../manifests/diff.js'
import { manifestPath, type Manifest } from '../manifests/validate.js'
import { KINDS, type Kind } from '../model/kinds.js'
import * as environments from '../store/environments.js'
import { findProject, type Project } from '../store/projects.js'
import { deploy } from './deployments.js'
import { createEnvironment, deleteEnvironment, updateEnvironment } from './environments.js'
import { createProject, updateProject, type Action } from './projects.js'
import { publicSpec, SEALED_PATHS, sealedParts, type StoredSpec } from './sealing.js'
import type { WriteContext } from './write-context.js'

export interface AppliedItem {
  kind: Kind
  name: string
  project: string
  environment?: string
  action: Action
  revision?: number
  diff?: Change[]
}

/**
 * Writes validated manifests in the caller's transaction: projects first, then environments, then
 * deployments, whatever the document order. With `prune`, environments of the named projects that the
 * request does not list are deleted.
 */
export async function applyManifests(
  ctx: WriteContext,
  manifests: Manifest[],
  prune: boolean,
): Promise<AppliedItem[]> {
  const items: AppliedItem[] = []
  const order = (m: Manifest) => KINDS.indexOf(m.kind) // KINDS lists owners before what they own
  for (const manifest of [...manifests].sort((a, b) => order(a) - order(b) || a.index - b.index)) {
    items.push(await inDocument(manifest, () => applyOne(ctx, manifest)))
  }
  if (prune) items.push(...(await pruneEnvironments(ctx, manifests)))
  return items
}

function applyOne(ctx: WriteContext, manifest: Manifest): Promise<AppliedItem> {
  switch (manifest.kind) {
    case 'Project':
      return applyProject(ctx, manifest)
    case 'Environment':
      return applyEnvironment(ctx, manifest)
    case 'Deployment':
      return applyDeployment(ctx, manifest)
  }
}

async function applyProject(
  ctx: WriteContext,
  manifest: Manifest & { kind: 'Project' },
): Promise<AppliedItem> {
  const { name, labels } = manifest.metadata
  const existing = await findProject(ctx.client, ctx.ownerId, name, true)
  const result = existing
    ? await updateProject(ctx, existing, { labels, spec: manifest.spec })
    : await createProject(ctx, { name, labels, spec: manifest.spec })
  const diff = specDiff(result.before, result.project.spec)
  return { kind: 'Project', name, project: name, action: result.action, diff }
}

async function applyEnvironment(
  ctx: WriteContext,
  manifest: Manifest & { kind: 'Environment' },
): Promise<AppliedItem> {
  const { name, labels } = manifest.metadata
  const project = await requireProjectNamed(ctx, manifest.metadata.project)
  const existing = await environments.findProjectEnvironment(ctx.client, project.id, name, true)
  const result = existing
    ? await updateEnvironment(ctx, project, existing, { labels, spec: manifest.spec })
    : await createEnvironment(ctx, project, { name, labels, spec: manifest.spec })
  return {
    kind: 'Environment',
    name,
    project: project.name,
    action: result.action,
    revision: result.revision?.revision,
    diff: specDiff(result.before, result.environment.spec),
  }
}

async function applyDeployment(
  ctx: WriteContext,
  manifest: Manifest & { kind: 'Deployment' },
): Promise<AppliedItem> {
  const { name, project: projectName, environment: environmentName } = manifest.metadata
  const project = await requireProjectNamed(ctx, projectName)
  const environment = await environments.findProjectEnvironment(ctx.client, project.id, environmentName, true)
  if (!environment)
    throw new NotFoundError(
      `environment ${project.name}/${environmentName} not found`,
      'GILGAL_ENVIRONMENT_NOT_FOUND',
    )
  const result = await deploy(ctx, project, environment, { source: manifest.spec.source, name })
  return {
    kind: 'Deployment',
    name,
    project: project.name,
    environment: environmentName,
    action: result.action,
    revision: result.deployment.revision,
  }
}

async function requireProjectNamed(ctx: WriteContext, name: string): Promise<Project> {
  const project = await findProject(ctx.client, ctx.ownerId, name)
  if (!project)
    throw new NotFoundError(
      `project ${name} not found: apply it first, or in the same request`,
      'GILGAL_PROJECT_NOT_FOUND',
    )
  return project
}

async function pruneEnvironments(ctx: WriteContext, manifests: Manifest[]): Promise<AppliedItem[]> {
  // An environment is kept when any document names it: its own manifest or a Deployment's target.
  const listed = new Set(
    manifests.flatMap((m) =>
      m.kind === 'Environment'
        ? [manifestPath(m)]
        : m.kind === 'Deployment'
          ? [`${m.metadata.project}/${m.metadata.environment}`]
          : [],
    ),
  )
  // Only projects the request describes (as a Project or through its Environments) are pruned.
  const projectNames = new Set(
    manifests.flatMap((m) =>
      m.kind === 'Project' ? [m.metadata.name] : m.kind === 'Environment' ? [m.metadata.project] : [],
    ),
  )
  const items: AppliedItem[] = []
  for (const projectName of projectNames) {
    const project = await findProject(ctx.client, ctx.ownerId, projectName)
    for (const environment of project ? await environments.listAllEnvironments(ctx.client, project.id) : []) {
      if (listed.has(`${projectName}/${environment.name}`)) continue
      await deleteEnvironment(ctx, environment)
      items.push({ kind: 'Environment', name: environment.name, project: projectName, action: 'deleted' })
    }
  }
  return items
}

/** Field-level changes; write-only values are reported as changed or not, never shown. */
function specDiff(before: StoredSpec | undefined, after: StoredSpec): Change[] {
  const visible = (spec: StoredSpec | undefined) => {
    if (!spec) return undefined
    const { secretEnv: _hidden, ...rest } = publicSpec(spec)
    return rest
  }
  return [
    ...diffSpecs(visible(before), visible(after)!),
    ...diffSpecs(sealedParts(before), sealedParts(after), SEALED_PATHS),
  ]
}

/** Re-throws an error of one document with the document named in its message and paths. */
async function inDocument<T>(manifest: Manifest, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (!(error instanceof GilgalError) || error.status >= 500) throw error
    const where = `document ${manifest.index} (${manifest.kind} ${manifestPath(manifest)})`
    if (error instanceof ValidationError) {
      const errors = error.errors.map((e) => ({ ...e, path: `/documents/${manifest.index}${e.path}` }))
      throw new ValidationError(`${where}: ${error.message}`, errors, error.code)
    }
    throw new GilgalError(error.code, error.status, error.title, `${where}: ${error.message}`, {
      cause: error,
    })
  }
}
