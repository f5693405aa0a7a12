import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'
import { ChangeListener } from '../helpers/notifications.js'

let db: TestDatabase
let listener: ChangeListener
let ownerId: string
let otherOwnerId: string

before(async () => {
  db = await createTestDatabase()
  listener = await ChangeListener.start(db.url)
  ownerId = await insertUser('ada')
  otherOwnerId = await insertUser('grace')
})

after(async () => {
  await listener.stop()
  await db.drop()
})

async function insertUser(name: string): Promise<string> {
  const { rows } = await db.pool.query<{ id: string }>(
    `insert into users (email, username, password_hash) values ($1, $2, 'x') returning id`,
    [`${name}@example.com`, name],
  )
  return rows[0]!.id
}

async function insertProject(name: string, owner = ownerId): Promise<string> {
  const sql = `insert into projects (owner_id, name, spec) values ($1, $2, '{"framework":"auto"}') returning id`
  return (await db.pool.query<{ id: string }>(sql, [owner, name])).rows[0]!.id
}

async function insertEnvironment(projectId: string, name: string): Promise<string> {
  const sql = `insert into environments (project_id, name, spec) values ($1, $2, '{"replicas":1}') returning id`
  return (await db.pool.query<{ id: string }>(sql, [projectId, name])).rows[0]!.id
}

async function insertDeployment(projectId: string, environmentId: string, revision: number): Promise<string> {
  const sql = `insert into deployments (project_id, environment_id, revision, spec)
               values ($1, $2, $3, '{"port":3000}') returning id`
  return (await db.pool.query<{ id: string }>(sql, [projectId, environmentId, revision])).rows[0]!.id
}

async function generationOf(table: string, id: string): Promise<number> {
  const { rows } = await db.pool.query(`select generation from ${table} where id = $1`, [id])
  return Number(rows[0].generation)
}

async function sqlState(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
    return undefined
  } catch (error) {
    return (error as { code?: string }).code
  }
}

let counter = 0
const uniqueName = (prefix: string) => `${prefix}-${++counter}`

// The same rules hold for every spec table (docs/ARCHITECTURE.md, Database). `parents` makes the rows a row of
// this kind hangs from; `insert` makes only the row itself, so its notification is the only one.
interface Parents {
  projectId?: string
  environmentId?: string
}
const kinds = [
  {
    kind: 'Project',
    table: 'projects',
    parents: async (): Promise<Parents> => ({}),
    insert: () => insertProject(uniqueName('p')),
  },
  {
    kind: 'Environment',
    table: 'environments',
    parents: async (): Promise<Parents> => ({ projectId: await insertProject(uniqueName('e')) }),
    insert: (parents: Parents) => insertEnvironment(parents.projectId!, 'staging'),
  },
  {
    kind: 'Deployment',
    table: 'deployments',
    parents: async (): Promise<Parents> => {
      const projectId = await insertProject(uniqueName('d'))
      return { projectId, environmentId: await insertEnvironment(projectId, 'production') }
    },
    insert: (parents: Parents) => insertDeployment(parents.projectId!, parents.environmentId!, 1),
  },
]

for (const { kind, table, parents, insert } of kinds) {
  const create = async () => insert(await parents())

  describe(`${table} triggers`, () => {
    test('an insert notifies its kind and id, with the time it happened', async () => {
      const rows = await parents()
      await listener.drain(db.pool) // the parent rows notified too
      const before = Date.now() / 1000
      const id = await insert(rows)
      const payload = await listener.next()
      assert.equal(payload.kind, kind)
      assert.equal(payload.id, id)
      assert.ok(
        typeof payload.at === 'number' && payload.at >= before - 1 && payload.at <= Date.now() / 1000 + 1,
      )
      assert.equal(await generationOf(table, id), 1)
    })

    test('a status-only write neither bumps generation nor notifies', async () => {
      const id = await create()
      await listener.drain(db.pool)
      await db.pool.query(
        `update ${table} set status = '{"phase":"Ready","observedGeneration":1}' where id = $1`,
        [id],
      )
      await listener.expectNothing(db.pool)
      assert.equal(await generationOf(table, id), 1)
    })

    test('writing the same spec again changes nothing', async () => {
      const id = await create()
      await listener.drain(db.pool)
      await db.pool.query(`update ${table} set spec = spec where id = $1`, [id])
      await listener.expectNothing(db.pool)
      assert.equal(await generationOf(table, id), 1)
    })

    test('a spec change bumps generation and notifies once', async () => {
      const id = await create()
      await listener.drain(db.pool)
      await db.pool.query(`update ${table} set spec = spec || '{"changed":true}' where id = $1`, [id])
      assert.deepEqual({ ...(await listener.next()), at: 0 }, { kind, id, at: 0 })
      await listener.expectNothing(db.pool)
      assert.equal(await generationOf(table, id), 2)
    })

    test('a deletion request notifies once, without a new generation', async () => {
      const id = await create()
      await listener.drain(db.pool)
      await db.pool.query(`update ${table} set deletion_requested_at = now() where id = $1`, [id])
      assert.equal((await listener.next()).id, id)
      await db.pool.query(
        `update ${table} set deletion_requested_at = now() + interval '1 s' where id = $1`,
        [id],
      )
      await listener.expectNothing(db.pool)
      assert.equal(await generationOf(table, id), 1)
    })
  })
}

describe('environments', () => {
  test('taking the next revision number neither bumps generation nor notifies', async () => {
    const environmentId = await insertEnvironment(await insertProject(uniqueName('rev')), 'production')
    await listener.drain(db.pool)
    const { rows } = await db.pool.query(
      'update environments set latest_revision = latest_revision + 1 where id = $1 returning latest_revision',
      [environmentId],
    )
    assert.equal(rows[0].latest_revision, 1)
    await listener.expectNothing(db.pool)
    assert.equal(await generationOf('environments', environmentId), 1)
  })
})

describe('deployments', () => {
  test('a cancel request is a new generation and notifies', async () => {
    const projectId = await insertProject('cancel-me')
    const id = await insertDeployment(projectId, await insertEnvironment(projectId, 'production'), 1)
    await listener.drain(db.pool)
    await db.pool.query('update deployments set cancel_requested_at = now() where id = $1', [id])
    assert.equal((await listener.next()).id, id)
    assert.equal(await generationOf('deployments', id), 2)
  })

  test('revisions are unique per environment, and a deployment belongs to its environment’s project', async () => {
    const projectId = await insertProject('revisions')
    const environmentId = await insertEnvironment(projectId, 'production')
    await insertDeployment(projectId, environmentId, 1)
    assert.equal(await sqlState(insertDeployment(projectId, environmentId, 1)), '23505')
    const otherProject = await insertProject('elsewhere')
    assert.equal(await sqlState(insertDeployment(otherProject, environmentId, 2)), '23503')
  })
})

describe('names and ownership', () => {
  test('project names are unique per installation: they name Docker objects and hostnames', async () => {
    await insertProject('shop')
    assert.equal(await sqlState(insertProject('shop')), '23505')
    assert.equal(await sqlState(insertProject('shop', otherOwnerId)), '23505', 'another owner included')
  })

  test('environment names are unique per project', async () => {
    const projectId = await insertProject('envs')
    await insertEnvironment(projectId, 'staging')
    assert.equal(await sqlState(insertEnvironment(projectId, 'staging')), '23505')
    assert.ok(await insertEnvironment(await insertProject('envs-2'), 'staging'))
  })

  test('names must be DNS labels without a double dash', async () => {
    for (const bad of ['Shop', 'a--b', '-shop', 'shop-', 'x'.repeat(41), 'sh_op', '']) {
      assert.equal(await sqlState(insertProject(bad)), '23514', `${JSON.stringify(bad)} is refused`)
    }
    assert.ok(await insertProject('a'))
    assert.ok(await insertProject('x'.repeat(40)))
  })

  test('emails and usernames are unique without regard to case', async () => {
    assert.equal(await sqlState(insertUser('ADA')), '23505')
  })
})
