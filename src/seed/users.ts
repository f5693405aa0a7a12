import { createPasswordHasher } from '../auth/passwords.js'
import { API_KEY_PREFIX, hashToken, newOpaqueToken } from '../auth/tokens.js'
import type { Secrets } from '../config/secrets.js'
import { createEnvironment } from '../desired-state/environments.js'
import { createProject } from '../desired-state/projects.js'
import { flushEvents, type WriteContext } from '../desired-state/write-context.js'
import { validateEnvironmentSpec, validateProjectSpec, writePolicyOf } from '../manifests/validate.js'
import type { ReservedHostnames } from '../model/hostnames.js'
import type { Limits } from '../model/limits.js'
import { insertApiKey } from '../store/api-keys.js'
import type { Environment } from '../store/environments.js'
import type { Pool } from '../store/pool.js'
import type { Project } from '../store/projects.js'
import { withTransaction } from '../store/tx.js'
import { findUserByEmail, insertUser } from '../store/users.js'
import { DEMO_REFS } from './demo-repository.js'

export interface SeedUser {
  email: string
  username: string
  password: string
  project: { name: string; displayName: string }
  /** The demo versions deployed in turn after the first, v1 (demo-repository.ts). */
  history: string[]
}

export const USERS: SeedUser[] = [
  {
    email: 'ada@example.com',
    username: 'ada',
    password: 'analytical-engine',
    project: { name: 'shop', displayName: 'Shop' },
    history: [DEMO_REFS.brokenBuild, DEMO_REFS.crashes],
  },
  {
    email: 'grace@example.com',
    username: 'grace',
    password: 'compiler-pioneer',
    project: { name: 'blog', displayName: 'Blog' },
    history: [],
  },
]

/** Quick enough for a demo: a health check every second, a short bake, a short deadline. */
const DEMO_ENVIRONMENT = {
  name: 'production',
  spec: {
    port: 8080,
    replicas: 2,
    env: { GREETING: 'hello from the seed' },
    resources: { memory: '64Mi', cpus: 0.25 },
    healthCheck: { http: { path: '/' }, intervalSeconds: 1 },
    rollout: { progressDeadlineSeconds: 30, monitorSeconds: 3, drainSeconds: 1 },
  },
}

export interface SeedDeps {
  secrets: Secrets
  limits: Limits
  reservedHostnames: ReservedHostnames
  /** The file:// URL of the demo repository of a project. */
  repositoryOf(project: string): Promise<string>
}

export interface SeededUser {
  user: SeedUser
  ownerId: string
  project: Project
  environment: Environment
  /** The environment's first revision, of the project's ref (v1). */
  firstRevision: string | undefined
  apiKey: string
}

/**
 * Creates each demo user with a project on its demo repository, a `production` environment and a
 * read-only API key, through the same code paths as the API. Users that exist are left alone.
 */
export async function seedUsers(
  pool: Pool,
  deps: SeedDeps,
  say: (line: string) => void,
): Promise<SeededUser[]> {
  const passwords = createPasswordHasher()
  const created: SeededUser[] = []
  try {
    for (const user of USERS) {
      if (await findUserByEmail(pool, user.email)) {
        say(`${user.email} exists already: left alone`)
        continue
      }
      const passwordHash = await passwords.hash(user.password)
      const repository = await deps.repositoryOf(user.project.name)
      const seeded = await withTransaction(pool, (client) =>
        seedUser(client, user, { passwordHash, repository, ...deps }),
      )
      say(
        `${user.email} / ${user.password}: project ${user.project.name}, read-only API key ${seeded.apiKey}`,
      )
      created.push(seeded)
    }
  } finally {
    await passwords.close()
  }
  return created
}

async function seedUser(
  client: WriteContext['client'],
  user: SeedUser,
  deps: SeedDeps & { passwordHash: string; repository: string },
): Promise<SeededUser> {
  const { passwordHash, repository } = deps
  const created = await insertUser(client, { email: user.email, username: user.username, passwordHash })
  const ctx = writeContext(client, created.id, user.username, deps)
  // The demo repository is a local one: the seed is the operator's, so its own sources are allowed.
  const policy = writePolicyOf(true, deps.limits)
  const { name, displayName } = user.project
  const projectSpec = {
    displayName,
    framework: 'dockerfile',
    repository: { url: repository, ref: DEMO_REFS.good },
  }
  const { project } = await createProject(ctx, { name, spec: validateProjectSpec(projectSpec, policy) })
  const { environment, revision } = await createEnvironment(ctx, project, {
    name: DEMO_ENVIRONMENT.name,
    spec: validateEnvironmentSpec(DEMO_ENVIRONMENT.spec, policy),
  })
  await flushEvents(ctx)
  const apiKey = newOpaqueToken(API_KEY_PREFIX)
  await insertApiKey(client, {
    userId: created.id,
    name: 'seed (read-only)',
    scope: 'read',
    keyHash: hashToken(apiKey),
    prefix: apiKey.slice(0, 10),
  })
  return { user, ownerId: created.id, project, environment, firstRevision: revision?.id, apiKey }
}

export function writeContext(
  client: WriteContext['client'],
  ownerId: string,
  actor: string,
  deps: Pick<SeedDeps, 'secrets' | 'reservedHostnames'>,
): WriteContext {
  return {
    client,
    ownerId,
    actor,
    triggerType: 'api',
    secretKeys: deps.secrets.secretKeys,
    reservedHostnames: deps.reservedHostnames,
    events: [],
  }
}
