import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createPool, type Pool } from '../../src/store/pool.js'
import { withTransaction } from '../../src/store/tx.js'
import { createTestDatabase, testLog, type TestDatabase } from '../helpers/db.js'

let db: TestDatabase
let pool: Pool

before(async () => {
  db = await createTestDatabase()
  pool = createPool(db.url, testLog, 2)
})

after(async () => {
  await pool.end()
  await db.drop()
})

test('a transaction whose session the server ends between statements fails; the process lives on', async () => {
  const { rows: before } = await pool.query<{ count: string }>('select count(*) from users')
  const attempt = withTransaction(pool, async (client) => {
    const ended = new Promise((resolve) => client.once('end', resolve))
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
    await client.query(
      `insert into users (email, username, password_hash) values ('cut@example.com', 'cut', 'x')`,
    )
    // What a restart does: the server ends the session while the transaction waits on other work.
    await db.pool.query('select pg_terminate_backend($1)', [rows[0]!.pid])
    await ended // listening to 'end', not 'error': an 'error' listener here would hide the crash
    await client.query('select 1')
  })
  await assert.rejects(attempt, /terminat|not queryable|Connection/i)
  assert.deepEqual((await pool.query('select count(*) from users')).rows, before, 'nothing was written')
  assert.equal((await pool.query('select 1 as ok')).rows[0].ok, 1, 'the pool still serves')
})
