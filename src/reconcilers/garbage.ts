import type { FencedRuntime } from '../runtime/fence.js'
import { LABELS } from '../runtime/labels.js'
import type { Pool } from '../store/pool.js'
import { readLiveOwners } from '../store/spec-tables.js'

export interface GarbageDeps {
  pool: Pool
  /** A former leader collects nothing. */
  runtime: FencedRuntime
  now?: () => number
}

export interface Collected {
  containers: number
  networks: number
  images: number
}

// An image younger than this may belong to a build whose result is not recorded yet.
const IMAGE_GRACE_MS = 10 * 60 * 1000

/**
 * Removes Gilgal's objects nobody owns any more: labelled containers whose
 * environment or project row is gone, networks of deleted projects, images of deleted projects and
 * images beyond each environment's `revisionHistoryLimit`. It lists by the managed label only, so an
 * unlabelled object is never even seen.
 */
export async function collectGarbage(deps: GarbageDeps): Promise<Collected> {
  const now = (deps.now ?? Date.now)()
  // Docker first, the database second: an object created between the two reads then has its owner
  // row already written, and is never mistaken for an orphan.
  const [containers, networks, images] = await Promise.all([
    deps.runtime.listManaged({}),
    deps.runtime.listManagedNetworks(),
    deps.runtime.listManagedImages(),
  ])
  const owners = await readLiveOwners(deps.pool)
  const collected: Collected = { containers: 0, networks: 0, images: 0 }
  const orphaned = (labels: Record<string, string>) =>
    (labels[LABELS.environment] !== undefined && !owners.environmentIds.has(labels[LABELS.environment]!)) ||
    (labels[LABELS.project] !== undefined && !owners.projectIds.has(labels[LABELS.project]!))
  for (const container of containers) {
    const projectId = container.labels[LABELS.project]
    if (!orphaned(container.labels) || projectId === undefined) continue
    await deps.runtime.removeContainer(container.id, projectId)
    collected.containers++
  }
  for (const network of networks) {
    const projectId = network.labels[LABELS.project]
    if (!orphaned(network.labels) || projectId === undefined) continue
    await deps.runtime.removeNetwork(network.name, projectId)
    collected.networks++
  }
  for (const image of images) {
    // An image a live revision records is never collected, whatever its labels say.
    if (owners.keptImageIds.has(image.id)) continue
    const unused = now - image.createdAt > IMAGE_GRACE_MS
    if (!orphaned(image.labels) && !unused) continue
    await deps.runtime.removeImage(image.id)
    collected.images++
  }
  return collected
}

/**
 * `collectGarbage` at most once per `intervalMs`, never two at once, in the background: a sweep is
 * housekeeping, so its failure is logged and the next chance retries.
 */
export function throttledSweep(
  deps: GarbageDeps & { intervalMs: number; onError: (error: unknown) => void },
): () => void {
  let last = 0
  let running = false
  return () => {
    const now = (deps.now ?? Date.now)()
    if (running || now - last < deps.intervalMs) return
    last = now
    running = true
    collectGarbage(deps)
      .catch(deps.onError)
      .finally(() => (running = false))
  }
}
