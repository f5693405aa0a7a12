import { NotFoundError } from '../errors.js'
import { isUuid } from '../model/ids.js'
import { findDeployment, findOwnedDeployment, findRevision, type Deployment } from '../store/deployments.js'
import { findOwnedEnvironment, findProjectEnvironment, type Environment } from '../store/environments.js'
import type { Pool, PoolClient } from '../store/pool.js'
import { findProject, type Project } from '../store/projects.js'

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
  db: Db,
  ownerId: string,
  idOrName: string,
  forUpdate = false,
): Promise<Project> {
  return orNotFound(await findProject(db, ownerId, idOrName, forUpdate), 'project', idOrName)
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

/**
 * A deployment of a project the caller owns (already checked), as users name it: `production-r3`
 * (environment and revision), or its id.
 */
export async function requireProjectDeployment(db: Db, projectId: string, ref: string): Promise<Deployment> {
  const named = /^(.+)-r([0-9]{1,9})$/.exec(ref)
  const environment = named ? await findProjectEnvironment(db, projectId, named[1]!) : undefined
  const found = environment
    ? await findRevision(db, environment.id, Number(named![2]))
    : isUuid(ref)
      ? await findDeployment(db, ref)
      : undefined
  return orNotFound(found?.projectId === projectId ? found : undefined, 'deployment', ref)
}
