import type { Reconciler } from '../controller/reconciler.js'
import type { FencedRuntime } from '../runtime/fence.js'
import { LABELS } from '../runtime/labels.js'
import { requestProjectEnvironmentsDeletion } from '../store/environments.js'
import type { Pool } from '../store/pool.js'
import { readProjectState } from '../store/projects.js'
import { removeDeleted, setObservedGeneration } from '../store/spec-tables.js'
import { projectNetwork } from './environment/containers.js'

export interface ProjectReconcilerDeps {
  pool: Pool
  runtime: FencedRuntime
  /** Garbage collection, throttled by the caller: every project reconcile offers a chance to run it. */
  sweep?: () => void
  /** Network names start with it (see projectNetwork). */
  namePrefix?: string
  /** Containers connected to every project network (GILGAL_ATTACH_CONTAINERS): Caddy's, Gilgal's own. */
  attachContainers?: readonly string[]
}

/**
 * The project reconciler: the project's network exists while the project does.
 * Deletion is two-phase: its environments are deleted first (each tears down its containers), then
 * whatever labelled objects of the project remain (containers, network, images), then the row.
 */
export function createProjectReconciler(deps: ProjectReconcilerDeps): Reconciler {
  return {
    async reconcile(key) {
      deps.sweep?.()
      const project = await readProjectState(deps.pool, key.id)
      if (!project) return {}
      if (project.deleting) return tearDown(deps, project.id, project.name)
      const network = projectNetwork(project.name, deps.namePrefix)
      await deps.runtime.ensureNetwork(network, { [LABELS.project]: project.id })
      for (const container of deps.attachContainers ?? [])
        await deps.runtime.attachToNetwork(network, container)
      if (project.observedGeneration !== project.generation)
        await setObservedGeneration(deps.pool, 'Project', project.id, project.generation)
      return {}
    },
  }
}

async function tearDown(
  deps: ProjectReconcilerDeps,
  id: string,
  name: string,
): Promise<{ requeueAfterMs?: number }> {
  const remaining = await requestProjectEnvironmentsDeletion(deps.pool, id)
  if (remaining > 0) return { requeueAfterMs: 500 }
  for (const container of await deps.runtime.listManaged({ projectId: id })) {
    await deps.runtime.removeContainer(container.id, id)
  }
  const network = projectNetwork(name, deps.namePrefix)
  for (const container of deps.attachContainers ?? [])
    await deps.runtime.detachFromNetwork(network, container)
  await deps.runtime.removeNetwork(network, id)
  for (const image of await deps.runtime.listManagedImages()) {
    if (image.labels[LABELS.project] === id) await deps.runtime.removeImage(image.id)
  }
  await removeDeleted(deps.pool, 'Project', id)
  return {}
}
