import type Docker from 'dockerode'
import { docker, engineStatus } from '../errors.js'
import { LABELS, type Ownership } from '../labels.js'
import type { ImageOperations } from '../runtime.js'
import { buildImage } from './build.js'
import { pullImage, pushImage } from './transfer.js'

/**
 * The image half of the Runtime on a real engine. Built images carry the installation's labels
 * whatever the caller passed; only labelled images are listed or collected, and removals are never
 * forced, so an image a container still uses stays.
 */
export function createImageOperations(engine: Docker, owner: Ownership): ImageOperations {
  return {
    findImage: (ref) =>
      docker(`inspect image ${ref}`, async () => {
        try {
          const info = await engine.getImage(ref).inspect()
          return {
            id: info.Id,
            exposedPort: lowestExposedPort(info.Config.ExposedPorts),
            builtFor: info.Config.Labels?.[LABELS.project],
            digests: info.RepoDigests ?? [],
          }
        } catch (error) {
          if (engineStatus(error) === 404) return undefined
          throw error
        }
      }),
    // Build, pull and push failures are their own error types (the deployment reconciler classifies
    // them), so they are not translated here.
    // The installation's labels first (their order is the LABEL line's, a cached build step) and
    // last (a caller's label never overrides them).
    buildImage: (build, onLine) =>
      buildImage(engine, { ...build, labels: { ...owner.labels, ...build.labels, ...owner.labels } }, onLine),
    pullImage: (ref, auth, onLine) => pullImage(engine, ref, auth, onLine),
    pushImage: (imageId, remoteRef, auth, onLine) => pushImage(engine, imageId, remoteRef, auth, onLine),
    listManagedImages: () =>
      docker('list images', async () => {
        const images = await engine.listImages({ filters: { label: owner.filters } })
        return images
          .filter((i) => owner.owns(i.Labels))
          .map((i) => ({
            id: i.Id,
            name: i.RepoTags?.[0] ?? i.Id,
            labels: i.Labels ?? {},
            createdAt: i.Created * 1000,
          }))
      }),
    removeImage: (id) =>
      docker(`remove image ${id}`, async () => {
        // Tag by tag and never forced: an image a container (even a stopped one) uses stays.
        try {
          const tags = (await engine.getImage(id).inspect()).RepoTags ?? []
          for (const tag of tags) await engine.getImage(tag).remove()
          if (tags.length === 0) await engine.getImage(id).remove()
        } catch (error) {
          if (engineStatus(error) !== 404 && engineStatus(error) !== 409) throw error // gone already, or still in use
        }
      }),
    removeDanglingImages: () =>
      docker('remove dangling images', async () => {
        const filters = { dangling: ['true'], label: owner.filters }
        let removed = 0
        for (const image of (await engine.listImages({ filters })).filter((i) => owner.owns(i.Labels))) {
          try {
            await engine.getImage(image.Id).remove()
            removed++
          } catch (error) {
            if (engineStatus(error) !== 404 && engineStatus(error) !== 409) throw error
          }
        }
        return removed
      }),
  }
}

/** The lowest TCP port an image EXPOSEs (what the app listens on, unless told otherwise). */
function lowestExposedPort(exposed: Record<string, object> | undefined): number | undefined {
  const ports = Object.keys(exposed ?? {})
    .filter((port) => port.endsWith('/tcp'))
    .map((port) => Number.parseInt(port, 10))
  return ports.length > 0 ? Math.min(...ports) : undefined
}
