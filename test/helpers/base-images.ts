import { execFileSync } from 'node:child_process'
import { copyFile, cp, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { BaseImages } from '../../src/source/dockerfiles.js'
import { assertStaticBusybox, docker, followBuild } from './docker.js'

/**
 * Base images made on this machine, since none can be pulled: busybox (a shell and coreutils, FROM
 * scratch), a static file server on it (busybox httpd as uid 1000 on 8080, standing in for
 * nginx-unprivileged), and Node with npm (this machine's own node binary and its libraries). Built
 * once per machine and reused: they are not labelled with a run id, and no test removes them.
 */
export const LOCAL_BASE = {
  busybox: 'gilgal-test/busybox:1',
  static: 'gilgal-test/static:1',
  node: `gilgal-test/node:${process.versions.node}`,
} as const

export function localBaseImages(): BaseImages {
  return { node: LOCAL_BASE.node, static: LOCAL_BASE.static, python: 'python:absent', php: 'php:absent' }
}

const BASE_LABELS = { 'gilgal.test.base': 'true' }

/** Builds whichever local base images the engine does not have yet. */
export async function ensureLocalBaseImages(): Promise<void> {
  await ensureImage(LOCAL_BASE.busybox, busyboxContext)
  await ensureImage(LOCAL_BASE.static, async (dir) =>
    writeFile(
      path.join(dir, 'Dockerfile'),
      lines(
        `FROM ${LOCAL_BASE.busybox}`,
        'USER 1000',
        'EXPOSE 8080',
        'CMD ["httpd", "-f", "-p", "8080", "-h", "/usr/share/nginx/html"]',
      ),
    ),
  )
  await ensureImage(LOCAL_BASE.node, nodeContext)
}

export async function ensureImage(tag: string, writeContext: (dir: string) => Promise<void>): Promise<void> {
  const present = await docker
    .getImage(tag)
    .inspect()
    .then(() => true)
    .catch(() => false)
  if (present) return
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-base-'))
  try {
    await writeContext(dir)
    await followBuild(
      await docker.buildImage({ context: dir, src: ['.'] }, { t: tag, labels: BASE_LABELS, rm: true }),
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function busyboxContext(dir: string): Promise<void> {
  await assertStaticBusybox()
  await copyFile('/bin/busybox', path.join(dir, 'busybox'))
  const dirs = '/usr/bin /sbin /usr/sbin /tmp /usr/share/nginx/html'
  await writeFile(
    path.join(dir, 'Dockerfile'),
    lines(
      'FROM scratch',
      'COPY busybox /bin/busybox',
      `RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p ${dirs} && /bin/busybox --install -s && chmod 1777 /tmp"]`,
      'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    ),
  )
}

/** The node binary, the shared libraries it links (as ldd lists them) and npm. */
async function nodeContext(dir: string): Promise<void> {
  const node = await realpath(process.execPath)
  const npm = path.resolve(
    await realpath(execFileSync('which', ['npm'], { encoding: 'utf8' }).trim()),
    '../..',
  )
  await copyFile(node, path.join(dir, 'node'))
  await cp(npm, path.join(dir, 'npm'), { recursive: true, dereference: true })
  const libraries = execFileSync('ldd', [node], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
    .filter((file): file is string => file !== undefined)
  const copies: string[] = []
  for (const [index, library] of libraries.entries()) {
    await mkdir(path.join(dir, 'lib'), { recursive: true })
    await copyFile(library, path.join(dir, 'lib', String(index)))
    copies.push(`COPY lib/${index} ${library}`)
  }
  await writeFile(
    path.join(dir, 'Dockerfile'),
    lines(
      `FROM ${LOCAL_BASE.busybox}`,
      ...copies,
      'COPY node /usr/local/bin/node',
      'COPY npm /usr/local/lib/node_modules/npm',
      'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx',
      // Offline: no audit, no funding or update checks, a cache any user can write.
      'ENV HOME=/tmp npm_config_cache=/tmp/.npm npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false',
    ),
  )
}

function lines(...content: string[]): string {
  return `${content.join('\n')}\n`
}
