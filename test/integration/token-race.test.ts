import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import * as tokens from '../../src/store/refresh-tokens.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'
import { waitFor } from '../helpers/wait.js'

let db: TestDatabase
let userId: string

before(async () => {
  db = await createTestDatabase()
  const { rows } = await db.pool.query(
    `insert into users (email, username, password_hash) values ('race@example.com', 'race', 'x') returning id`,
  )
  userId = rows[0].id
})

after(async () => {
  await db.drop()
})

const expiresAt = () => new Date(Date.now() + 60_000)

test('a family revoked while a rotation is in flight also loses the token that rotation inserts', async () => {
  const familyId = randomUUID()
  await tokens.insertRefreshToken(db.pool, { userId, familyId, tokenHash: 'T2', expiresAt: expiresAt() })
  const rotation = await db.pool.connect()
  const revocation = await db.pool.connect()
  try {
    // The rotation consumes T2 and inserts T3, and has not committed yet.
    await rotation.query('begin')
    await tokens.lockUserTokens(rotation, userId)
    assert.ok(await tokens.consumeRefreshToken(rotation, 'T2'))
    await tokens.insertRefreshToken(rotation, { userId, familyId, tokenHash: 'T3', expiresAt: expiresAt() })
    // Reuse detection (or logout) starts now; it must wait for the rotation, then see T3.
    let revoked = false
    const revoking = (async () => {
      await revocation.query('begin')
      await tokens.lockUserTokens(revocation, userId)
      await tokens.revokeTokenFamily(revocation, familyId)
      await revocation.query('commit')
      revoked = true
    })()
    await waitFor('the revocation to wait on the rotation', async () => {
      const { rows } = await db.pool.query(
        "select 1 from pg_locks where locktype = 'advisory' and not granted",
      )
      return rows.length === 1 ? true : undefined
    })
    assert.equal(revoked, false)
    await rotation.query('commit')
    await revoking
    const t3 = await tokens.findRefreshToken(db.pool, 'T3')
    assert.ok(t3?.revokedAt, 'T3 is revoked with its family')
  } finally {
    rotation.release()
    revocation.release()
  }
})
