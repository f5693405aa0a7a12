import type { Pool } from './pool.js'

/** What may keep a Docker object alive: its owner rows, and the images recent revisions use. */
export interface LiveOwners {
  projectIds: Set<string>
  environmentIds: Set<string>
  /** Images of each environment's newest `revisionHistoryLimit` revisions, of any in progress or
   * serving, and of the revision each Active one replaced. */
  keptImageIds: Set<string>
}

export async function readLiveOwners(pool: Pool): Promise<LiveOwners> {
  const [projects, environments, images] = await Promise.all([
    pool.query<{ id: string }>('select id from projects'),
    pool.query<{ id: string }>('select id from environments'),
    pool.query<{ image_id: string }>(
      `select distinct d.status->>'imageId' as image_id
         from deployments d join environments e on e.id = d.environment_id
        where d.status ? 'imageId'
          and (d.revision > e.latest_revision - coalesce((e.spec->'rollout'->>'revisionHistoryLimit')::int, 10)
               or d.status->>'phase' in ('Queued', 'Building', 'Deploying', 'Active')
               -- the revision an Active one replaced: its stopped containers are the bake's way back
               or d.id::text in (select status->>'previousDeployment' from deployments
                                  where status->>'phase' = 'Active'))`,
    ),
  ])
  return {
    projectIds: new Set(projects.rows.map((r) => r.id)),
    environmentIds: new Set(environments.rows.map((r) => r.id)),
    keptImageIds: new Set(images.rows.map((r) => r.image_id)),
  }
}
