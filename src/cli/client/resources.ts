import type { ApiClient } from './api.js'

/** A resource as the API answers it (Kubernetes' shape). */
export interface Resource {
  kind: string
  metadata: Record<string, unknown> & { id: string; name?: string; createdAt?: string }
  spec: Record<string, unknown>
  status: Record<string, unknown> & { phase?: string }
}

interface Page {
  items: Resource[]
  nextCursor: string | null
}

/** Every page of a list, followed through `nextCursor`. */
export async function listAll(
  api: ApiClient,
  path: string,
  query: Record<string, string> = {},
): Promise<Resource[]> {
  const items: Resource[] = []
  let cursor: string | undefined
  do {
    const page = await api.request<Page>('GET', path, { query: { ...query, limit: 100, cursor } })
    items.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return items
}

/** The projects named, or all of the user's. */
export async function projectsOf(api: ApiClient, project: string | undefined): Promise<Resource[]> {
  if (project) return [await api.request<Resource>('GET', `/api/projects/${encodeURIComponent(project)}`)]
  return listAll(api, '/api/projects')
}

export async function environmentsOf(api: ApiClient, project: string | undefined): Promise<Resource[]> {
  const lists = await Promise.all(
    (await projectsOf(api, project)).map((p) => listAll(api, `/api/projects/${p.metadata.id}/environments`)),
  )
  return lists.flat()
}

export async function deploymentsOf(
  api: ApiClient,
  project: string | undefined,
  environment: string | undefined,
): Promise<Resource[]> {
  const query: Record<string, string> = environment ? { environment } : {}
  const lists = await Promise.all(
    (await projectsOf(api, project)).map((p) =>
      listAll(api, `/api/projects/${p.metadata.id}/deployments`, query),
    ),
  )
  return lists.flat()
}

export function environmentOf(
  api: ApiClient,
  ref: { project: string; environment: string },
): Promise<Resource> {
  const path = `/api/projects/${encodeURIComponent(ref.project)}/environments/${encodeURIComponent(ref.environment)}`
  return api.request<Resource>('GET', path)
}
