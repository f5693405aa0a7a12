import path from 'node:path'
import { operatorRepositoriesOf } from '../config/index.js'
import type { Pool } from '../store/pool.js'
import { ensureDemoRepository } from './demo-repository.js'
import { playDemoHistory } from './history.js'
import { seedUsers, type SeedDeps } from './users.js'

export interface SeedOptions extends Omit<SeedDeps, 'repositoryOf'> {
  dataDir: string
  /** The demo app's FROM: busybox by default (it needs httpd and sh). */
  baseImage: string
  say(line: string): void
}

/**
 * `gilgal seed` (npm run db:seed): demo users, each with a project built from a git repository made
 * on this machine, then the history a demo needs, deployed for real: revisions that serve, a build
 * that fails, a rollout that is rolled back. Users that exist are left alone, with their history.
 */
export async function seed(pool: Pool, options: SeedOptions): Promise<void> {
  const repositories = operatorRepositoriesOf({ dataDir: options.dataDir })
  const repositoryOf = (project: string) =>
    ensureDemoRepository(
      path.join(repositories, `demo-${project}`),
      `Gilgal demo: ${project}`,
      options.baseImage,
    )
  const seeded = await seedUsers(pool, { ...options, repositoryOf }, options.say)
  await playDemoHistory(pool, seeded, options, options.say)
}
