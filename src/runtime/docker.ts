import Docker from 'dockerode'

/**
 * A dockerode client for DOCKER_HOST (unix://, tcp://, http(s)://), or the local socket. This module
 * and its siblings are the only code that talks to Docker.
 */
export function createDockerClient(dockerHost?: string): Docker {
  if (!dockerHost) return new Docker()
  const url = new URL(dockerHost)
  if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname })
  const protocol = url.protocol === 'https:' ? 'https' : 'http'
  return new Docker({
    host: url.hostname,
    port: Number(url.port) || (protocol === 'https' ? 2376 : 2375),
    protocol,
  })
}

/** True when the engine answers a ping. */
export async function isDockerReachable(docker: Docker): Promise<boolean> {
  try {
    await docker.ping()
    return true
  } catch {
    return false
  }
}
