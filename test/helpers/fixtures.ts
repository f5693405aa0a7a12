import { execFileSync } from 'node:child_process'
import { cp } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const APPS = fileURLToPath(new URL('../fixtures/apps/', import.meta.url))

export interface FixtureRepository {
  url: string
  dir: string
  commit: string
}

/** A local git repository (under `root`) holding the fixture app `app` of test/fixtures/apps/ in one commit. */
export async function fixtureRepository(app: string, root: string, name = app): Promise<FixtureRepository> {
  const dir = path.join(root, name)
  await cp(path.join(APPS, app), dir, { recursive: true })
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim()
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', dir])
  git('add', '.')
  git('-c', 'user.email=t@e.st', '-c', 'user.name=t', 'commit', '--quiet', '-m', app)
  return { url: `file://${dir}`, dir, commit: git('rev-parse', 'HEAD') }
}
