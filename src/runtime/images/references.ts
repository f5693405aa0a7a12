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

/**
 * A reference with its tag made explicit (`shop` → `shop:latest`). The engine resolves a bare word
 * that looks like hex as a prefix of an image id (`abcd` would name somebody's image); with a tag or
 * a digest it is only ever a name.
 */
export function withTag(ref: string): string {
  if (ref.includes('@')) return ref
  return ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref : `${ref}:latest`
}

/** `host:5000/a/b:tag@sha256:…` → `host:5000/a/b`: the repository a digest belongs to. */
export function repositoryOf(ref: string): string {
  return splitReference(ref.split('@')[0]!).repository
}
