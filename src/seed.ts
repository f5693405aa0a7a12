import { createPasswordHasher } from './auth/passwords.js'
import { API_KEY_PREFIX, hashToken, newOpaqueToken } from './auth/tokens.js'
import type { Secrets } from './config/secrets.js'
import { deploy } from './desired-state/deployments.js'
import { createEnvironment } from './desired-state/environments.js'
import { createProject } from './desired-state/projects.js'
import { flushEvents, type WriteContext } from './desired-state/write-context.js'
import { validateEnvironmentSpec, validateProjectSpec, writePolicyOf } from './manifests/validate.js'
import type { ReservedHostnames } from './model/hostnames.js'
import type { Limits } from './model/limits.js'
import { insertApiKey } from './store/api-keys.js'
import type { Pool } from './store/pool.js'
import { withTransaction } from './store/tx.js'
import { findUserByEmail, insertUser } from './store/users.js'

interface SeedUser {
  email: string
  username: string
  password: string
  project: { name: string; displayName: string; repository: string; framework: string }
  environment: { name: string; spec: Record<string, unknown> }
}

const USERS: SeedUser[] = [
  {
    email: 'ada@example.com',
    username: 'ada',
    password: 'analytical-engine',
    project: {
      name: 'shop',
      displayName: 'Shop',
      repository: 'https://github.com/vercel/next-learn.git',
      framework: 'nextjs',
    },
    environment: { name: 'production', spec: { env: { NODE_ENV: 'production' }, port: 3000, replicas: 2 } },
  },
  {
    email: 'grace@example.com',
    username: 'grace',
    password: 'compiler-pioneer',
    project: {
      name: 'blog',
      displayName: 'Blog',
      repository: 'https://github.com/withastro/astro.git',
      framework: 'static',
    },
    environment: { name: 'staging', spec: { port: 8080 } },
  },
]

/**
 * `gilgal seed` (npm run db:seed): two users, each with a project, an environment with three revisions
 * and a read-only API key, through the same code paths as the API. Users that exist are left alone.
 */
export async function seed(
  pool: Pool,
  secrets: Secrets,
  limits: Limits,
  reservedHostnames: ReservedHostnames,
): Promise<string[]> {
  const passwords = createPasswordHasher()
  const lines: string[] = []
  try {
    for (const user of USERS) {
      if (await findUserByEmail(pool, user.email)) {
        lines.push(`${user.email} exists already: left alone`)
        continue
      }
      const passwordHash = await passwords.hash(user.password)
      const key = await withTransaction(pool, (client) =>
        seedUser(client, user, passwordHash, { secrets, limits, reservedHostnames }),
      )
      lines.push(`${user.email} / ${user.password}: project ${user.project.name}, read-only API key ${key}`)
    }
  } finally {
    await passwords.close()
  }
  return lines
}

async function seedUser(
  client: WriteContext['client'],
  user: SeedUser,
  passwordHash: string,
  {
    secrets,
    limits,
    reservedHostnames,
  }: { secrets: Secrets; limits: Limits; reservedHostnames: ReservedHostnames },
): Promise<string> {
  const created = await insertUser(client, { email: user.email, username: user.username, passwordHash })
  const ctx: WriteContext = {
    client,
    ownerId: created.id,
    actor: user.username,
    triggerType: 'api',
    secretKeys: secrets.secretKeys,
    reservedHostnames,
    events: [],
  }
  const policy = writePolicyOf(false, limits)
  const { name, displayName, repository, framework } = user.project
  const projectSpec = { displayName, framework, repository: { url: repository, ref: 'main' } }
  const { project } = await createProject(ctx, { name, spec: validateProjectSpec(projectSpec, policy) })
  const { environment } = await createEnvironment(ctx, project, {
    name: user.environment.name,
    spec: validateEnvironmentSpec(user.environment.spec, policy),
  })
  for (const ref of ['v1.1.0', 'v1.2.0'])
    await deploy(ctx, project, environment, { source: { git: { ref } } })
  await flushEvents(ctx)
  const key = newOpaqueToken(API_KEY_PREFIX)
  await insertApiKey(client, {
    userId: created.id,
    name: 'seed (read-only)',
    scope: 'read',
    keyHash: hashToken(key),
    prefix: key.slice(0, 10),
  })
  return key
}
