import { createTestDatabase, type TestDatabase } from './db.js'

export interface RevisionInput {
  git?: { url: string; ref?: string; path?: string; credentials?: { username: string; password: string } }
  image?: string
  args?: Record<string, string>
  env?: Record<string, string>
  /** More of the revision's snapshot (port, healthCheck, command, …), written with it in one insert. */
  spec?: Record<string, unknown>
}

/**
 * A fresh database with one user, one project and its production environment, and what build tests
 * do with them: insert a queued revision, read its status and its log. No engine involved.
 */
export interface RevisionRows {
  db: TestDatabase
  projectId: string
  projectName: string
  environmentId: string
  revision(input: RevisionInput): Promise<string>
  statusOf(id: string): Promise<Record<string, unknown>>
  logsOf(id: string): Promise<string[]>
}

export async function createRevisionRows(prefix: string): Promise<RevisionRows> {
  const db = await createTestDatabase()
  const projectName = `${prefix}-${process.pid}`
  const { rows } = await db.pool.query(
    `with u as (insert into users (email, username, password_hash) values ('b@example.com', 'b', 'x') returning id),
          p as (insert into projects (owner_id, name) select id, $1 from u returning id),
          e as (insert into environments (project_id, name) select id, 'production' from p returning id, project_id)
     select id, project_id from e`,
    [projectName],
  )
  const { id: environmentId, project_id: projectId } = rows[0]
  return {
    db,
    projectId,
    projectName,
    environmentId,
    async revision(input) {
      const source = input.image ? { image: input.image } : { git: { ref: 'main', path: '.', ...input.git } }
      const spec = {
        source,
        build: { dockerfile: 'Dockerfile', args: input.args ?? {}, target: null },
        env: input.env ?? {},
        ...input.spec,
      }
      // Numbered as the API numbers them, so API-made revisions (a rollback) can follow.
      const inserted = await db.pool.query(
        `with next as (update environments set latest_revision = latest_revision + 1 where id = $2 returning latest_revision)
         insert into deployments (project_id, environment_id, revision, spec, status)
         select $1, $2, latest_revision, $3, '{"phase":"Queued"}' from next returning id`,
        [projectId, environmentId, spec],
      )
      return inserted.rows[0].id
    },
    async statusOf(id) {
      return (await db.pool.query('select status from deployments where id = $1', [id])).rows[0].status
    },
    async logsOf(id) {
      const result = await db.pool.query(
        'select message from deployment_logs where deployment_id = $1 order by seq',
        [id],
      )
      return result.rows.map((row) => row.message)
    },
  }
}
