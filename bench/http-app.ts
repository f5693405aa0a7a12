/** The app the rollout and burst benches run: busybox httpd answering "bench", made locally. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ensureLocalBaseImages, LOCAL_BASE } from '../test/helpers/base-images.js'
import { docker, followBuild } from '../test/helpers/docker.js'

export const IMAGE = 'gilgal-bench/http:1'

/** Whether `url` answers 2xx within a second. */
export async function ok(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) })
    await response.body?.cancel()
    return response.ok
  } catch {
    return false
  }
}

/** A busybox httpd answering "bench", on the locally made busybox base; it stops at once on SIGTERM. */
export async function buildHttpImage(): Promise<void> {
  await ensureLocalBaseImages()
  const context = await mkdtemp(path.join(os.tmpdir(), 'gilgal-bench-image-'))
  await writeFile(
    path.join(context, 'Dockerfile'),
    [
      `FROM ${LOCAL_BASE.busybox}`,
      'RUN mkdir /www && echo bench > /www/index.html',
      `CMD ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]`,
    ].join('\n'),
  )
  await followBuild(await docker.buildImage({ context, src: ['Dockerfile'] }, { t: IMAGE, rm: true }))
  await rm(context, { recursive: true, force: true })
}

/** A project and one environment running the bench app, probed every `intervalSeconds`, no drain or bake. */
export function appManifest(project: string, name: string, intervalSeconds: number): string {
  return `apiVersion: gilgal.dev/v1
kind: Project
metadata: { name: ${project} }
spec: {}
---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: ${name}, project: ${project} }
spec:
  source: { image: ${IMAGE} }
  port: 8080
  healthCheck: { http: { path: / }, intervalSeconds: ${intervalSeconds} }
  rollout: { drainSeconds: 0, monitorSeconds: 0 }
`
}
