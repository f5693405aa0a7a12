import type { FastifyRequest } from 'fastify'
import { NotFoundError, UnauthorizedError } from '../errors.js'
import { flushEvents, type WriteContext } from '../resources/context.js'
import { publicSpec, type SpecOptions } from '../resources/specs.js'
import { findOwnedDeployment, type Deployment } from '../store/deployments.js'
import { findOwnedEnvironment, findProjectEnvironment, type Environment } from '../store/environments.js'
import type { Pool, PoolClient } from '../store/pool.js'
import { findProject, type Project } from '../store/projects.js'
import { withTransaction } from '../store/tx.js'
import { findUserById } from '../store/users.js'

export interface ResourceDeps {
  pool: Pool
  specOptions: SpecOptions
}

const API_VERSION = 'gilgal.dev/v1'

/** Runs `work` in one transaction as the calling user: every write path goes through here. */
export async function runWrite<T>(
  deps: ResourceDeps,
  request: FastifyRequest,
  triggerType: WriteContext['triggerType'],
  work: (ctx: WriteContext) => Promise<T>,
  { dryRun = false } = {},
): Promise<T> {
  return withTransaction(
    deps.pool,
    async (client) => {
      const user = await findUserById(client, request.principal.userId)
      if (!user) throw new UnauthorizedError('this account no longer exists')
      const actor = request.principal.apiKeyId ? `${user.username} (API key)` : user.username
      const ctx: WriteContext = {
        client,
        ownerId: user.id,
        actor,
        triggerType,
        options: deps.specOptions,
        events: [],
      }
      const result = await work(ctx)
      await flushEvents(ctx)
      return result
    },
    { dryRun },
  )
}

type Db = Pool | PoolClient

/** The object, or a 404: another user's object is indistinguishable from none. */
export function orNotFound<T>(
  value: T | undefined,
  kind: 'project' | 'environment' | 'deployment',
  idOrName: string,
): T {
  if (value === undefined)
    throw new NotFoundError(`${kind} ${idOrName} not found`, `GILGAL_${kind.toUpperCase()}_NOT_FOUND`)
  return value
}

/** The caller's project by id or name. */
export async function requireProject(
  db: Pool | PoolClient,
  ownerId: string,
  idOrName: string,
  forUpdate = false,
): Promise<Project> {
  return orNotFound(await findProject(db, ownerId, idOrName, forUpdate), 'project', idOrName)
}

function deletionStatus(status: Record<string, unknown>, deletionRequestedAt: Date | null) {
  return deletionRequestedAt ? { ...status, phase: 'Deleting' } : status
}

export function presentProject(project: Project) {
  return {
    apiVersion: API_VERSION,
    kind: 'Project',
    metadata: {
      id: project.id,
      name: project.name,
      labels: project.labels,
      generation: project.generation,
      createdAt: project.createdAt,
      updatedAt: project.updatedAt,
      deletionRequestedAt: project.deletionRequestedAt,
    },
    spec: publicSpec(project.spec),
    status: deletionStatus(project.status, project.deletionRequestedAt),
  }
}

export function presentEnvironment(environment: Environment) {
  return {
    apiVersion: API_VERSION,
    kind: 'Environment',
    metadata: {
      id: environment.id,
      name: environment.name,
      project: environment.projectName,
      projectId: environment.projectId,
      labels: environment.labels,
      generation: environment.generation,
      latestRevision: environment.latestRevision,
      createdAt: environment.createdAt,
      updatedAt: environment.updatedAt,
      deletionRequestedAt: environment.deletionRequestedAt,
    },
    spec: publicSpec(environment.spec),
    status: deletionStatus(environment.status, environment.deletionRequestedAt),
  }
}

export function presentDeployment(deployment: Deployment) {
  return {
    apiVersion: API_VERSION,
    kind: 'Deployment',
    metadata: {
      id: deployment.id,
      name: deployment.name,
      project: deployment.projectName,
      projectId: deployment.projectId,
      environment: deployment.environmentName,
      environmentId: deployment.environmentId,
      revision: deployment.revision,
      trigger: deployment.trigger,
      generation: deployment.generation,
      createdAt: deployment.createdAt,
      updatedAt: deployment.updatedAt,
      cancelRequestedAt: deployment.cancelRequestedAt,
    },
    spec: publicSpec(deployment.spec),
    status: deployment.status,
  }
}

/** An environment of one of the caller's projects, by id. */
export async function requireEnvironment(
  db: Db,
  ownerId: string,
  id: string,
  forUpdate = false,
): Promise<Environment> {
  return orNotFound(await findOwnedEnvironment(db, ownerId, id, forUpdate), 'environment', id)
}

/** An environment of a project the caller owns (already checked), by id or name. */
export async function requireProjectEnvironment(
  db: Db,
  projectId: string,
  idOrName: string,
  forUpdate = false,
): Promise<Environment> {
  return orNotFound(await findProjectEnvironment(db, projectId, idOrName, forUpdate), 'environment', idOrName)
}

/** A deployment of one of the caller's projects, by id. */
export async function requireDeployment(
  db: Db,
  ownerId: string,
  id: string,
  forUpdate = false,
): Promise<Deployment> {
  return orNotFound(await findOwnedDeployment(db, ownerId, id, forUpdate), 'deployment', id)
}
