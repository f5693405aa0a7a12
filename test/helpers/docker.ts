import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Docker from 'dockerode'
import { isGone } from '../../src/runtime/errors.js'
import { testEnv } from './db.js'

/** The engine named by DOCKER_HOST, or the local socket. */
export const docker = new Docker()

const BUSYBOX = '/bin/busybox'
export const TEST_LABEL = 'gilgal.test'

/** Why the engine cannot be used, or undefined when it answers. */
export async function checkDockerEngine(): Promise<string | undefined> {
  try {
    await docker.ping()
    return undefined
  } catch (error) {
    return `no Docker engine answers at ${process.env.DOCKER_HOST ?? '/var/run/docker.sock'} (${(error as Error).message})`
  }
}

/** Labels that mark an object as this test run's, so parallel files and runs never touch each other's. */
export function testLabels(extra: Record<string, string> = {}): Record<string, string> {
  return { [TEST_LABEL]: testEnv().runId, ...extra }
}

/**
 * Builds a `FROM scratch` image around Debian's static busybox (no image can be pulled here). It serves
 * `body` over HTTP on port 8080 with busybox httpd, stops at once on SIGTERM, and has a Docker
 * HEALTHCHECK on that port.
 */
export async function buildBusyboxImage(
  tag: string,
  body: string,
  labels: Record<string, string> = {},
): Promise<void> {
  await assertStaticBusybox()
  const context = await mkdtemp(path.join(os.tmpdir(), 'gilgal-fixture-'))
  try {
    await copyFile(BUSYBOX, path.join(context, 'busybox'))
    await writeFile(path.join(context, 'index.html'), body)
    await writeFile(
      path.join(context, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'COPY index.html /www/index.html',
        'EXPOSE 8080',
        'HEALTHCHECK --interval=1s --timeout=1s --retries=3 CMD ["/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]',
        'ENTRYPOINT ["/bin/busybox"]',
        // A shell as PID 1 that ends on SIGTERM (httpd as PID 1 would ignore it until the SIGKILL).
        `CMD ["sh", "-c", "trap 'exit 0' TERM; /bin/busybox httpd -f -p 8080 -h /www & wait"]`,
      ].join('\n'),
    )
    const stream = await docker.buildImage(
      { context, src: ['Dockerfile', 'busybox', 'index.html'] },
      { t: tag, labels: testLabels(labels), rm: true, forcerm: true },
    )
    await followBuild(stream)
  } finally {
    await rm(context, { recursive: true, force: true })
  }
}

export function followBuild(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: Array<{ error?: string }>) => {
      const failed = error ?? output.find((item) => item.error)?.error
      if (failed) reject(failed instanceof Error ? failed : new Error(`docker build failed: ${failed}`))
      else resolve()
    })
  })
}

/** A dynamically linked busybox (Debian's `busybox` package) cannot run in a scratch image. */
export async function assertStaticBusybox(): Promise<void> {
  const binary = await readFile(BUSYBOX).catch(() => undefined)
  if (!binary || hasInterpreter(binary)) {
    throw new Error(`${BUSYBOX} must be the static busybox: apt-get install -y busybox-static`)
  }
}

/** True when a 64-bit little-endian ELF file names a dynamic loader (a PT_INTERP program header). */
function hasInterpreter(elf: Buffer): boolean {
  const PT_INTERP = 3
  const headerOffset = Number(elf.readBigUInt64LE(0x20))
  const entrySize = elf.readUInt16LE(0x36)
  const count = elf.readUInt16LE(0x38)
  for (let index = 0; index < count; index++) {
    if (elf.readUInt32LE(headerOffset + index * entrySize) === PT_INTERP) return true
  }
  return false
}

/** Removes every container and image labelled with this run's id. */
export async function removeTestObjects(): Promise<void> {
  const filters = JSON.stringify({ label: [`${TEST_LABEL}=${testEnv().runId}`] })
  for (const info of await docker.listContainers({ all: true, filters })) {
    await docker.getContainer(info.Id).remove({ force: true, v: true })
  }
  for (const info of await docker.listImages({ filters })) {
    await docker.getImage(info.Id).remove({ force: true })
  }
}

/** Removes the containers, networks and images a Gilgal with GILGAL_INSTANCE=`instance` made. */
export async function removeInstanceObjects(instance: string): Promise<void> {
  const filters = { label: [`dev.gilgal.instance=${instance}`] }
  // A Swarm's services first (a controller with GILGAL_RUNTIME=swarm): they would replace their tasks.
  const swarm = ((await docker.info()) as { Swarm?: { ControlAvailable?: boolean } }).Swarm?.ControlAvailable
  if (swarm)
    for (const s of (await docker.listServices({ filters })) as Array<{ ID: string }>)
      await docker.getService(s.ID).remove()
  for (const c of await docker.listContainers({ all: true, filters }))
    await docker.getContainer(c.Id).remove({ force: true })
  for (const n of await docker.listNetworks({ filters }))
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch((error: unknown) => {
        if (!isGone(error)) throw error
      })
  for (const i of await docker.listImages({ filters })) await docker.getImage(i.Id).remove({ force: true })
}
