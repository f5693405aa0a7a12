import { execFile } from 'node:child_process'
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The demo app's three versions: one that serves, one that does not build, one that crashes at start. */
export const DEMO_REFS = { good: 'v1', brokenBuild: 'v2', crashes: 'v3' } as const

// The seed's commits must not depend on the operator's git config (signing, hooks, templates).
const GIT_ENVIRONMENT = {
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Gilgal seed',
  GIT_AUTHOR_EMAIL: 'seed@gilgal.invalid',
  GIT_COMMITTER_NAME: 'Gilgal seed',
  GIT_COMMITTER_EMAIL: 'seed@gilgal.invalid',
}

/**
 * A git repository on this machine holding a small static site served by busybox httpd on 8080, with
 * one tag per demo version, so the demo builds and runs with no network beyond the base image.
 * It is made aside and renamed into place, so an existing one is whole: it is reused as it is.
 * Returns its file:// URL.
 */
export async function ensureDemoRepository(dir: string, title: string, baseImage: string): Promise<string> {
  const url = pathToFileURL(dir).href
  if (await exists(dir)) return url
  const partial = `${dir}.partial-${process.pid}`
  await rm(partial, { recursive: true, force: true })
  await writeVersions(partial, title, baseImage)
  await rename(partial, dir)
  return url
}

async function writeVersions(dir: string, title: string, baseImage: string): Promise<void> {
  await mkdir(path.join(dir, 'public'), { recursive: true })
  const git = (...args: string[]) =>
    run('git', args, { cwd: dir, env: { ...process.env, ...GIT_ENVIRONMENT } })
  await git('init', '--quiet', '--initial-branch=main')
  const versions: [string, string, string][] = [
    [DEMO_REFS.good, 'the first version: it builds, serves and passes its health check', 'true'],
    [DEMO_REFS.brokenBuild, 'a build step that fails: Gilgal marks it Failed and keeps v1', 'false'],
  ]
  for (const [tag, message, buildStep] of versions) {
    await writeFile(path.join(dir, 'public', 'index.html'), page(title, tag))
    await writeFile(path.join(dir, 'Dockerfile'), dockerfile(baseImage, `RUN ${buildStep}`, SERVE))
    await git('add', '--all')
    await git('commit', '--quiet', '--message', `${tag}: ${message}`)
    await git('tag', tag)
  }
  await writeFile(path.join(dir, 'public', 'index.html'), page(title, DEMO_REFS.crashes))
  await writeFile(path.join(dir, 'Dockerfile'), dockerfile(baseImage, 'RUN true', CRASH))
  await git('commit', '--quiet', '--all', '--message', 'v3: exits at start: Gilgal rolls back to v1')
  await git('tag', DEMO_REFS.crashes)
}

const SERVE = 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]'
const CRASH = `CMD ["sh", "-c", "echo 'DATABASE_URL is not set' >&2; exit 1"]`

function dockerfile(baseImage: string, buildStep: string, command: string): string {
  return [`FROM ${baseImage}`, buildStep, 'COPY public /www', 'EXPOSE 8080', command, ''].join('\n')
}

function page(title: string, version: string): string {
  return `<!doctype html>\n<title>${title}</title>\n<h1>${title}</h1>\n<p>Deployed by Gilgal: ${version}.</p>\n`
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  )
}
