import type { FastifyRequest } from 'fastify'
import { NotFoundError, UnauthorizedError } from '../errors.js'
import { flushEvents, type WriteContext } from '../resources/context.js'
import { publicSpec, type SpecOptions } from '../resources/specs.js'
import type { Deployment } from '../store/deployments.js'
import type { Environment } from '../store/environments.js'
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

/** The caller's project, or 404: another user's project is indistinguishable from none. */
export async function requireProject(
  db: Pool | PoolClient,
  ownerId: string,
  idOrName: string,
  forUpdate = false,
): Promise<Project> {
  const project = await findProject(db, ownerId, idOrName, forUpdate)
  if (!project) throw new NotFoundError(`project ${idOrName} not found`, 'GILGAL_PROJECT_NOT_FOUND')
  return project
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
