/** `host:5000/a/b:tag` → repository `host:5000/a/b`, tag `tag` (a port is not a tag). */
export function splitReference(ref: string): { repository: string; tag: string } {
  const slash = ref.lastIndexOf('/')
  const colon = ref.lastIndexOf(':')
  return colon > slash
    ? { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) }
    : { repository: ref, tag: 'latest' }
}

/** The registry host an image reference names: Docker Hub unless the first part looks like a host. */
export function registryHost(ref: string): string {
  const first = ref.split('/')[0]!
  const isHost = ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
  return isHost ? first : 'docker.io'
}
