import { publicSpec } from '../desired-state/sealing.js'
import type { Deployment } from '../store/deployments.js'
import type { Environment } from '../store/environments.js'
import type { Project } from '../store/projects.js'

/** Resources as the API answers them: Kubernetes' shape, with write-only values hidden. */
const API_VERSION = 'gilgal.dev/v1'

/** A row whose deletion was requested shows phase Deleting until the controller removes it. */
function deletionStatus(status: object, deletionRequestedAt: Date | null): object {
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
    status: deletionStatus(
      { ...environment.status, domains: environment.domains },
      environment.deletionRequestedAt,
    ),
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
    status: { ...deployment.status, ...durationOf(deployment) },
  }
}

/** A finished revision took this long, from its creation (queued) to Active, Failed or Cancelled. */
function durationOf(deployment: Deployment): { durationMs?: number } {
  const finished = deployment.status.finishedAt ? Date.parse(deployment.status.finishedAt) : Number.NaN
  return Number.isFinite(finished)
    ? { durationMs: Math.max(0, finished - deployment.createdAt.getTime()) }
    : {}
}
