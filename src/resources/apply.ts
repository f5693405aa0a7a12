import { GilgalError, NotFoundError, ValidationError, type FieldError } from '../errors.js'
import { diffSpecs, type Change } from '../manifests/diff.js'
import { KINDS, validateManifest, type ManifestKind } from '../manifests/schemas.js'
import * as environments from '../store/environments.js'
import { findProject, type Project, type Spec } from '../store/projects.js'
import type { WriteContext } from './context.js'
import { deploy } from './deployments.js'
import { createEnvironment, deleteEnvironment, updateEnvironment } from './environments.js'
import { createProject, updateProject, type Action } from './projects.js'
import { assertPlainData, publicSpec } from './specs.js'

export interface Manifest {
  index: number
  kind: ManifestKind
  metadata: { name: string; project?: string; environment?: string; labels?: Record<string, string> }
  spec: Spec
}

export interface AppliedItem {
  kind: ManifestKind
  name: string
  project: string
  environment?: string
  action: Action
  revision?: number
  diff?: Change[]
}

/**
 * Validates every document before anything is written, and reports every problem at once, each path
 * prefixed with `/documents/<index>`.
 */
export function validateManifests(documents: unknown[]): Manifest[] {
  const errors: FieldError[] = []
  const problems: string[] = []
  const manifests: Manifest[] = []
  documents.forEach((document, index) => {
    try {
      manifests.push(validateOne(document, index))
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error
      errors.push(...error.errors)
      problems.push(
        `document ${index} (${describe(document)}): ${error.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
      )
    }
  })
  const duplicates = findDuplicates(manifests)
  errors.push(...duplicates)
  problems.push(...duplicates.map((e) => `${e.path} ${e.message}`))
  if (errors.length > 0) throw new ValidationError(problems.join('; '), errors)
  return manifests
}

function validateOne(document: unknown, index: number): Manifest {
  assertPlainData(document, `/documents/${index}`)
  const kind = (document as { kind?: unknown } | null)?.kind
  if (!KINDS.includes(kind as ManifestKind)) {
    throw new ValidationError('bad kind', [
      { path: `/documents/${index}/kind`, message: `must be one of ${KINDS.join(', ')}` },
    ])
  }
  validateManifest(kind as ManifestKind, document, `/documents/${index}`)
  return { index, ...(document as Omit<Manifest, 'index'>), spec: (document as { spec?: Spec }).spec ?? {} }
}

/** "Environment shop/production", as far as a (possibly broken) document allows. */
function describe(document: unknown): string {
  const { kind, metadata } = (document ?? {}) as { kind?: unknown; metadata?: Record<string, unknown> }
  const path = [metadata?.project, metadata?.environment, metadata?.name].filter(
    (part) => typeof part === 'string',
  )
  return `${typeof kind === 'string' ? kind : 'unknown kind'} ${path.join('/') || '(no name)'}`
}

function findDuplicates(manifests: Manifest[]): FieldError[] {
  const seen = new Set<string>()
  return manifests.flatMap((manifest) => {
    const key = `${manifest.kind}/${identify(manifest)}`
    if (!seen.has(key)) return (seen.add(key), [])
    return [{ path: `/documents/${manifest.index}/metadata/name`, message: `${key} appears twice` }]
  })
}

const identify = (m: Manifest) =>
  [m.metadata.project, m.metadata.environment, m.metadata.name].filter(Boolean).join('/')
const ORDER: Record<ManifestKind, number> = { Project: 0, Environment: 1, Deployment: 2 }

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
  for (const manifest of [...manifests].sort((a, b) => ORDER[a.kind] - ORDER[b.kind] || a.index - b.index)) {
    items.push(await inDocument(manifest, () => applyOne(ctx, manifest)))
  }
  if (prune) items.push(...(await pruneEnvironments(ctx, manifests)))
  return items
}

async function applyOne(ctx: WriteContext, manifest: Manifest): Promise<AppliedItem> {
  const { name, labels } = manifest.metadata
  if (manifest.kind === 'Project') {
    const existing = await findProject(ctx.client, ctx.ownerId, name, true)
    const result = existing
      ? await updateProject(ctx, existing, { labels, spec: manifest.spec })
      : await createProject(ctx, { name, labels, spec: manifest.spec })
    return {
      kind: 'Project',
      name,
      project: name,
      action: result.action,
      diff: specDiff(result.before, result.project.spec),
    }
  }
  const project = await requireProjectNamed(ctx, manifest.metadata.project!)
  if (manifest.kind === 'Environment') {
    const existing = await environments.findProjectEnvironment(ctx.client, project.id, name, true)
    const result = existing
      ? await updateEnvironment(ctx, project, existing, { labels, spec: manifest.spec })
      : await createEnvironment(ctx, project, { name, labels, spec: manifest.spec })
    const diff = specDiff(result.before, result.environment.spec)
    return {
      kind: 'Environment',
      name,
      project: project.name,
      action: result.action,
      revision: result.revision?.revision,
      diff,
    }
  }
  const environmentName = manifest.metadata.environment!
  const environment = await environments.findProjectEnvironment(ctx.client, project.id, environmentName, true)
  if (!environment)
    throw new NotFoundError(
      `environment ${project.name}/${environmentName} not found`,
      'GILGAL_ENVIRONMENT_NOT_FOUND',
    )
  const source = manifest.spec.source as Parameters<typeof deploy>[3]['source']
  const result = await deploy(ctx, project, environment, { source, name })
  const item = {
    kind: 'Deployment' as const,
    name,
    project: project.name,
    environment: environmentName,
    action: result.action,
  }
  return { ...item, revision: result.deployment.revision }
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
        ? [identify(m)]
        : m.kind === 'Deployment'
          ? [`${m.metadata.project}/${m.metadata.environment}`]
          : [],
    ),
  )
  // Only projects the request describes (as a Project or through its Environments) are pruned.
  const projectNames = new Set(
    manifests.flatMap((m) =>
      m.kind === 'Project' ? [m.metadata.name] : m.kind === 'Environment' ? [m.metadata.project!] : [],
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
function specDiff(before: Spec | undefined, after: Spec): Change[] {
  const visible = (spec: Spec | undefined) => {
    if (!spec) return undefined
    const { secretEnv: _hidden, ...rest } = publicSpec(spec)
    return rest
  }
  const sealed = (spec: Spec | undefined) => ({
    secretEnv: spec?.secretEnv ?? {},
    registries: passwordsOf(spec),
  })
  return [
    ...diffSpecs(visible(before), visible(after)!),
    ...diffSpecs(sealed(before), sealed(after), ['/spec/secretEnv', '/spec/registries']),
  ]
}

function passwordsOf(spec: Spec | undefined): Record<string, unknown> {
  const registries = (spec?.registries ?? []) as Array<{ server: string; password?: string }>
  return Object.fromEntries(registries.map((registry) => [registry.server, registry.password ?? null]))
}

/** Re-throws an error of one document with the document named in its message and paths. */
async function inDocument<T>(manifest: Manifest, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (!(error instanceof GilgalError) || error.status >= 500) throw error
    const where = `document ${manifest.index} (${manifest.kind} ${identify(manifest)})`
    if (error instanceof ValidationError) {
      const errors = error.errors.map((e) => ({ ...e, path: `/documents/${manifest.index}${e.path}` }))
      throw new ValidationError(`${where}: ${error.message}`, errors, error.code)
    }
    throw new GilgalError(error.code, error.status, error.title, `${where}: ${error.message}`, {
      cause: error,
    })
  }
}
