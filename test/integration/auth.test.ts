import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, registerUser, testSecrets } from '../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

let db: TestDatabase
let app: FastifyInstance

before(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool)
})

after(async () => {
  await app.close()
  await db.drop()
})

const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload, headers })
const me = (authorization: string) =>
  app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization } })

function signJwt(
  header: object,
  payload: object,
  secret: string = testSecrets.jwtSecret,
  hmac = 'sha256',
): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url')
  const body = `${encode(header)}.${encode(payload)}`
  return `${body}.${createHmac(hmac, secret).update(body).digest('base64url')}`
}

describe('register and login', () => {
  test('register answers 201 with the user and a session; login answers the same shape', async () => {
    const body = { email: 'Ada@Example.com', username: 'ada', password: 'correct horse battery' }
    const registered = await post('/api/auth/register', body)
    assert.equal(registered.statusCode, 201)
    const session = registered.json()
    assert.deepEqual(Object.keys(session).sort(), ['accessToken', 'expiresIn', 'refreshToken', 'user'])
    assert.equal(session.expiresIn, 900)
    const claims = JSON.parse(Buffer.from(session.accessToken.split('.')[1], 'base64url').toString())
    assert.equal(claims.exp - claims.iat, 900, 'the access token itself lives 15 minutes')
    assert.deepEqual([claims.iss, claims.aud, claims.sub], ['gilgal', 'gilgal-api', session.user.id])
    assert.deepEqual(Object.keys(session.user).sort(), ['createdAt', 'email', 'id', 'username'])
    const login = await post('/api/auth/login', { email: 'ada@example.COM', password: body.password })
    assert.equal(login.statusCode, 200)
    assert.equal(login.json().user.id, session.user.id)
    assert.equal((await me(`Bearer ${login.json().accessToken}`)).json().username, 'ada')
  })

  test('emails (any case) and usernames are unique', async () => {
    await registerUser(app, 'unique1')
    const sameEmail = await post('/api/auth/register', {
      email: 'UNIQUE1@example.com',
      username: 'other',
      password: 'long enough',
    })
    assert.equal(sameEmail.statusCode, 409)
    assert.equal(sameEmail.json().code, 'GILGAL_USER_EXISTS')
    const sameName = await post('/api/auth/register', {
      email: 'x@example.com',
      username: 'unique1',
      password: 'long enough',
    })
    assert.equal(sameName.statusCode, 409)
  })

  test('passwords must be 8 to 72 bytes, counted in UTF-8; nothing is written otherwise', async () => {
    const tooLong = await post('/api/auth/register', {
      email: 'long@example.com',
      username: 'long',
      password: 'é'.repeat(37),
    })
    assert.equal(tooLong.statusCode, 422)
    assert.match(
      tooLong.json().detail,
      /at most 72 bytes \(it is 74\): bcrypt would silently ignore the rest/,
    )
    assert.deepEqual(tooLong.json().errors, [
      { path: '/password', message: tooLong.json().errors[0].message },
    ])
    const tooShort = await post('/api/auth/register', {
      email: 'short@example.com',
      username: 'short',
      password: 'seven77',
    })
    assert.equal(tooShort.statusCode, 422)
    const { rowCount } = await db.pool.query("select 1 from users where username in ('long', 'short')")
    assert.equal(rowCount, 0)
    const exactly72 = await post('/api/auth/register', {
      email: 'ok@example.com',
      username: 'ok72',
      password: 'é'.repeat(36),
    })
    assert.equal(exactly72.statusCode, 201)
  })

  test('bad input is a 400 problem listing the fields', async () => {
    const response = await post('/api/auth/register', {
      email: 'not-an-email',
      username: '-x',
      password: 'long enough',
      admin: true,
    })
    assert.equal(response.statusCode, 400)
    assert.match(String(response.headers['content-type']), /problem\+json/)
    const paths = response.json().errors.map((e: { path: string }) => e.path)
    assert.ok(paths.includes('body/email') && paths.includes('body/username'), JSON.stringify(paths))
    assert.ok(paths.includes('body/admin'), `the unknown field is named: ${JSON.stringify(paths)}`)
  })

  test('a password of 72 bytes followed by anything does not log in as that password', async () => {
    const password = 'x'.repeat(72)
    const user = await registerUser(app)
    await app.inject({
      method: 'PATCH',
      url: '/api/auth/me',
      headers: user.auth,
      payload: { currentPassword: user.password, password },
    })
    assert.equal((await post('/api/auth/login', { email: user.email, password })).statusCode, 200)
    const longer = await post('/api/auth/login', { email: user.email, password: `${password}anything` })
    assert.equal(longer.statusCode, 401, 'bcrypt would have ignored the rest')
    assert.equal(longer.json().code, 'GILGAL_BAD_CREDENTIALS')
  })

  test('with registration closed, only the first user registers', async () => {
    const db = await createTestDatabase()
    const closed = await buildTestApp(db.pool, { registration: 'closed' })
    try {
      const register = (name: string) =>
        closed.inject({
          method: 'POST',
          url: '/api/auth/register',
          payload: { email: `${name}@example.com`, username: name, password: 'correct horse' },
        })
      const [first, second] = await Promise.all([register('first'), register('second')])
      assert.deepEqual([first.statusCode, second.statusCode].sort(), [201, 403], 'exactly one first user')
      const third = await register('third')
      assert.equal(third.statusCode, 403)
      assert.equal(third.json().code, 'GILGAL_REGISTRATION_CLOSED')
      assert.equal((await db.pool.query('select count(*)::int as n from users')).rows[0].n, 1)
    } finally {
      await closed.close()
      await db.drop()
    }
  })

  test('a wrong password and an unknown email answer the same 401', async () => {
    const user = await registerUser(app)
    const wrong = await post('/api/auth/login', { email: user.email, password: 'wrong password' })
    const unknown = await post('/api/auth/login', { email: 'nobody@example.com', password: 'wrong password' })
    assert.equal(wrong.statusCode, 401)
    assert.equal(unknown.statusCode, 401)
    assert.equal(wrong.json().detail, unknown.json().detail)
  })
})

describe('access tokens', () => {
  test('missing, garbage, forged, expired or foreign tokens answer 401', async () => {
    const user = await registerUser(app)
    const now = Math.floor(Date.now() / 1000)
    const claims = { sub: user.id, iss: 'gilgal', aud: 'gilgal-api', iat: now, exp: now + 600 }
    const valid = signJwt({ alg: 'HS256', typ: 'JWT' }, claims)
    assert.equal((await me(`Bearer ${valid}`)).statusCode, 200, 'the hand-made token is well formed')
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`
    const cases: Record<string, string> = {
      missing: '',
      garbage: 'Bearer not.a.token',
      'alg none': `Bearer ${unsigned}`,
      'another algorithm': `Bearer ${signJwt({ alg: 'HS512', typ: 'JWT' }, claims, testSecrets.jwtSecret, 'sha512')}`,
      'bad signature': `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, claims, 'another-secret-of-enough-length-000000')}`,
      expired: `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now - 1000, exp: now - 10 })}`,
      'wrong audience': `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, aud: 'another-api' })}`,
      'wrong issuer': `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iss: 'someone-else' })}`,
      'no issuer': `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iss: undefined })}`,
      'no audience': `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, aud: undefined })}`,
      'a subject that is no user id': `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, sub: 'admin' })}`,
    }
    for (const [name, authorization] of Object.entries(cases)) {
      const response = await me(authorization)
      assert.equal(response.statusCode, 401, name)
      assert.match(String(response.headers['content-type']), /problem\+json/, name)
    }
  })
})

describe('refresh tokens', () => {
  test('a refresh rotates the token; the old one is single-use', async () => {
    const user = await registerUser(app)
    const first = await post('/api/auth/refresh', { refreshToken: user.refreshToken })
    assert.equal(first.statusCode, 200)
    assert.notEqual(first.json().refreshToken, user.refreshToken)
    assert.equal(first.json().user.id, user.id)
    assert.equal((await me(`Bearer ${first.json().accessToken}`)).statusCode, 200)
    const second = await post('/api/auth/refresh', { refreshToken: first.json().refreshToken })
    assert.equal(second.statusCode, 200)
  })

  test('presenting a used token again revokes its whole family', async () => {
    const user = await registerUser(app)
    const rotated = (await post('/api/auth/refresh', { refreshToken: user.refreshToken })).json().refreshToken
    const replay = await post('/api/auth/refresh', { refreshToken: user.refreshToken })
    assert.equal(replay.statusCode, 401)
    const afterReplay = await post('/api/auth/refresh', { refreshToken: rotated })
    assert.equal(afterReplay.statusCode, 401, 'the legitimate descendant is revoked too')
    const other = await post('/api/auth/login', { email: user.email, password: user.password })
    assert.equal(
      (await post('/api/auth/refresh', { refreshToken: other.json().refreshToken })).statusCode,
      200,
    )
  })

  test('logout revokes the family; an unknown token is refused', async () => {
    const user = await registerUser(app)
    const rotated = (await post('/api/auth/refresh', { refreshToken: user.refreshToken })).json().refreshToken
    assert.equal((await post('/api/auth/logout', { refreshToken: rotated })).statusCode, 204)
    assert.equal((await post('/api/auth/refresh', { refreshToken: rotated })).statusCode, 401)
    assert.equal((await post('/api/auth/refresh', { refreshToken: 'made-up' })).statusCode, 401)
  })

  test('refresh tokens are stored hashed', async () => {
    const user = await registerUser(app)
    const { rows } = await db.pool.query('select token_hash from refresh_tokens where user_id = $1', [
      user.id,
    ])
    assert.equal(rows.length, 1)
    assert.notEqual(rows[0].token_hash, user.refreshToken)
    assert.match(rows[0].token_hash, /^[0-9a-f]{64}$/)
  })
})

describe('profile', () => {
  const patchMe = (authorization: string, payload: object) =>
    app.inject({ method: 'PATCH', url: '/api/auth/me', headers: { authorization }, payload })

  test('the username changes with the current password; a wrong one is refused', async () => {
    const user = await registerUser(app)
    const wrong = await patchMe(user.auth.authorization, {
      username: 'renamed1',
      currentPassword: 'not it at all',
    })
    assert.equal(wrong.statusCode, 403)
    const ok = await patchMe(user.auth.authorization, {
      username: 'renamed1',
      currentPassword: user.password,
    })
    assert.equal(ok.statusCode, 200)
    assert.equal(ok.json().username, 'renamed1')
    assert.equal((await patchMe(user.auth.authorization, { currentPassword: user.password })).statusCode, 400)
  })

  test('a password change revokes every refresh token and the new password works', async () => {
    const user = await registerUser(app)
    const second = (await post('/api/auth/login', { email: user.email, password: user.password })).json()
    const changed = await patchMe(user.auth.authorization, {
      password: 'a brand new secret',
      currentPassword: user.password,
    })
    assert.equal(changed.statusCode, 200)
    for (const refreshToken of [user.refreshToken, second.refreshToken]) {
      assert.equal((await post('/api/auth/refresh', { refreshToken })).statusCode, 401)
    }
    assert.equal(
      (await post('/api/auth/login', { email: user.email, password: user.password })).statusCode,
      401,
    )
    assert.equal(
      (await post('/api/auth/login', { email: user.email, password: 'a brand new secret' })).statusCode,
      200,
    )
  })

  test('a new password over 72 bytes is refused and nothing changes', async () => {
    const user = await registerUser(app)
    const response = await patchMe(user.auth.authorization, {
      password: 'x'.repeat(73),
      currentPassword: user.password,
    })
    assert.equal(response.statusCode, 422)
    assert.equal(
      (await post('/api/auth/login', { email: user.email, password: user.password })).statusCode,
      200,
    )
  })
})

describe('API keys', () => {
  const createKey = (user: { auth: { authorization: string } }, scope: string) =>
    post('/api/auth/api-keys', { name: `${scope} key`, scope }, user.auth)

  test('a key is shown once, stored hashed, listed by prefix, and records its use', async () => {
    const user = await registerUser(app)
    const created = await createKey(user, 'write')
    assert.equal(created.statusCode, 201)
    const { id, key } = created.json()
    assert.match(key, /^gil_[A-Za-z0-9_-]{43}$/)
    const { rows } = await db.pool.query('select key_hash from api_keys where id = $1', [id])
    assert.notEqual(rows[0].key_hash, key)
    assert.equal((await me(`Bearer ${key}`)).json().id, user.id)
    const list = await app.inject({ method: 'GET', url: '/api/auth/api-keys', headers: user.auth })
    const [listed] = list.json().items
    assert.equal(listed.id, id)
    assert.ok(key.startsWith(listed.prefix) && listed.prefix.length < 12)
    assert.ok(!list.body.includes(key))
    assert.ok(listed.lastUsedAt, 'lastUsedAt is recorded')
  })

  test('a read key reads but cannot write (403); a write key writes', async () => {
    const user = await registerUser(app)
    const readKey = (await createKey(user, 'read')).json().key
    const writeKey = (await createKey(user, 'write')).json().key
    assert.equal((await me(`Bearer ${readKey}`)).statusCode, 200)
    const refused = await post(
      '/api/projects',
      { name: 'from-read-key' },
      { authorization: `Bearer ${readKey}` },
    )
    assert.equal(refused.statusCode, 403)
    assert.equal(refused.json().code, 'GILGAL_READ_ONLY_KEY')
    const allowed = await post(
      '/api/projects',
      { name: 'from-write-key' },
      { authorization: `Bearer ${writeKey}` },
    )
    assert.equal(allowed.statusCode, 201)
  })

  test('an API key cannot mint or revoke API keys: that takes a login session', async () => {
    const user = await registerUser(app)
    const { id, key } = (await createKey(user, 'write')).json()
    const headers = { authorization: `Bearer ${key}` }
    const minted = await post('/api/auth/api-keys', { name: 'more', scope: 'write' }, headers)
    assert.equal(minted.statusCode, 403)
    assert.equal(minted.json().code, 'GILGAL_SESSION_REQUIRED')
    const revoked = await app.inject({ method: 'DELETE', url: `/api/auth/api-keys/${id}`, headers })
    assert.equal(revoked.statusCode, 403)
    assert.equal((await me(`Bearer ${key}`)).statusCode, 200)
  })

  test('a deleted key stops working; another user’s key answers 404', async () => {
    const owner = await registerUser(app)
    const stranger = await registerUser(app)
    const { id, key } = (await createKey(owner, 'write')).json()
    const foreign = await app.inject({
      method: 'DELETE',
      url: `/api/auth/api-keys/${id}`,
      headers: stranger.auth,
    })
    assert.equal(foreign.statusCode, 404)
    assert.equal((await me(`Bearer ${key}`)).statusCode, 200, 'the stranger changed nothing')
    const deleted = await app.inject({
      method: 'DELETE',
      url: `/api/auth/api-keys/${id}`,
      headers: owner.auth,
    })
    assert.equal(deleted.statusCode, 204)
    assert.equal((await me(`Bearer ${key}`)).statusCode, 401)
    assert.equal((await me('Bearer gil_made-up')).statusCode, 401)
  })
})

test('auth routes are rate limited per client', async () => {
  const limited = await buildTestApp(db.pool, { authRateLimit: { max: 2, timeWindow: 60_000 } })
  try {
    const attempt = () =>
      limited.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: 'a@b.c', password: 'whatever1' },
      })
    assert.equal((await attempt()).statusCode, 401)
    assert.equal((await attempt()).statusCode, 401)
    const third = await attempt()
    assert.equal(third.statusCode, 429)
    assert.match(String(third.headers['content-type']), /problem\+json/)
  } finally {
    await limited.close()
  }
})

test('behind a trusted proxy (GILGAL_TRUSTED_PROXIES), each client has its own limit; a spoofed header from elsewhere does not', async () => {
  const behindCaddy = await buildTestApp(db.pool, {
    authRateLimit: { max: 1, timeWindow: 60_000 },
    trustedProxies: ['127.0.0.1'],
  })
  try {
    const attempt = (forwardedFor: string, remoteAddress = '127.0.0.1') =>
      behindCaddy.inject({
        method: 'POST',
        url: '/api/auth/login',
        remoteAddress,
        headers: { 'x-forwarded-for': forwardedFor },
        payload: { email: 'a@b.c', password: 'whatever1' },
      })
    assert.equal((await attempt('203.0.113.1')).statusCode, 401)
    assert.equal((await attempt('203.0.113.1')).statusCode, 429, 'the same client, through the proxy')
    assert.equal((await attempt('203.0.113.2')).statusCode, 401, 'another client is not held back')
    // Not from the proxy: the header is the sender's own claim, and the sender's address is what counts.
    assert.equal((await attempt('203.0.113.3', '198.51.100.7')).statusCode, 401)
    assert.equal((await attempt('203.0.113.4', '198.51.100.7')).statusCode, 429)
  } finally {
    await behindCaddy.close()
  }
})
