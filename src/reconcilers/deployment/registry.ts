import { openSecret } from '../../crypto/secret-box.js'
import { registryContext } from '../../resources/specs.js'
import { findImage } from '../../runtime/build.js'
import { pullImage, pushImage, registryHost, type RegistryAuth } from '../../runtime/images.js'
import type { BuildState } from '../../store/builds.js'
import type { DeploymentLogWriter } from './log-writer.js'
import type { DeploymentReconcilerDeps } from './reconcile.js'

/** A prebuilt image is used as is: the engine's copy if it has one, otherwise pulled. */
export async function pullPrebuilt(
  deps: DeploymentReconcilerDeps,
  state: BuildState,
  image: string,
  log: DeploymentLogWriter,
): Promise<Record<string, unknown>> {
  const pinned = typeof state.spec.pinnedImageId === 'string' ? state.spec.pinnedImageId : undefined
  if (pinned && (await findImage(deps.engine, pinned))) {
    log.write('system', `using ${image} as it ran before (${pinned.slice(0, 19)})`)
    return { imageId: pinned, imageTag: image, pulled: false }
  }
  const local = await findImage(deps.engine, image)
  if (local) {
    log.write('system', `using ${image} from the engine`)
    return { imageId: local, imageTag: image, pulled: false }
  }
  const auth = registryAuth(deps, state, registryHost(image))
  log.write('system', `pulling ${image}${auth ? ` as ${auth.username}` : ''}`)
  await deps.fence?.assertCurrent()
  const imageId = await pullImage(deps.engine, image, auth, (line) => log.write(line.stream, line.message))
  return { imageId, imageTag: image, pulled: true }
}

/** Pushes a built image to GILGAL_REGISTRY (same repository and tag under it) so other hosts can pull it. */
export async function pushToRegistry(
  deps: DeploymentReconcilerDeps,
  state: BuildState,
  built: { imageId: string; imageTag: string },
  log: DeploymentLogWriter,
): Promise<Record<string, unknown>> {
  const registryImage = `${deps.registry}/${built.imageTag}`
  const auth = registryAuth(deps, state, registryHost(registryImage))
  log.write('system', `pushing ${registryImage}`)
  await deps.fence?.assertCurrent()
  const digest = await pushImage(deps.engine, built.imageId, registryImage, auth, (line) =>
    log.write(line.stream, line.message),
  )
  return { registryImage, ...(digest ? { registryDigest: digest } : {}) }
}

/** The project's credentials for `server`, unsealed only here, at the moment the engine needs them. */
function registryAuth(
  deps: DeploymentReconcilerDeps,
  state: BuildState,
  server: string,
): RegistryAuth | undefined {
  const entry = state.registries.find((registry) => registry.server === server)
  if (!entry) return undefined
  const password = entry.password ? openSecret(entry.password, deps.secretKeys, registryContext(server)) : ''
  return { serveraddress: server, username: entry.username, password }
}
