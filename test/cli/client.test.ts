import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { parse, parseAllDocuments } from 'yaml'
import { buildTestApp } from '../helpers/app.js'
import { gilgal, serveForCli, type CliEnv } from '../helpers/cli.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'
import { freePort } from '../helpers/net.js'

// The built `gilgal` against a real API and a real PostgreSQL (no controller: revisions stay Queued).
let db: TestDatabase
let server: CliEnv & { close(): Promise<void> }
const user = { email: 'cli@example.com', username: 'cli', password: 'correct horse battery' }

before(async () => {
  db = await createTestDatabase()
  server = await serveForCli(await buildTestApp(db.pool))
  const registered = await fetch(`${server.url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(user),
  })
  assert.equal(registered.status, 201)
})

after(async () => {
  await server?.close()
  await db?.drop()
})

const login = () => gilgal(['login', '-e', user.email, '--password-stdin'], server, `${user.password}\n`)
const credentialsFile = () => path.join(server.configDir, 'credentials.json')

/** One line on stderr, starting `gilgal: `, and a non-zero exit. */
function assertOneClearLine(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(result.code, 0)
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr)
  assert.match(result.stderr, /^gilgal: /)
  assert.match(result.stderr, pattern)
}

const manifest = (replicas: number) => `apiVersion: gilgal.dev/v1
kind: Project
metadata: { name: clishop }
spec: {}
---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: production, project: clishop }
spec:
  source: { image: registry.example.com/shop:1.0 }
  replicas: ${replicas}
`

async function manifestFile(text: string): Promise<string> {
  const file = path.join(server.configDir, `m-${Math.random().toString(36).slice(2)}.yaml`)
  await writeFile(file, text)
  return file
}

describe('logging in', () => {
  test('a wrong password: one clear line, exit 1, nothing kept', async () => {
    const result = await gilgal(['login', '-e', user.email, '--password-stdin'], server, 'not the password\n')
    assertOneClearLine(result, /wrong email or password/)
    await assert.rejects(stat(credentialsFile()))
  })

  test('login keeps the session readable by its owner only; whoami says who', async () => {
    const result = await login()
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /logged in to .* as cli/)
    assert.equal((await stat(credentialsFile())).mode & 0o777, 0o600)
    const me = await gilgal(['whoami'], server)
    assert.equal(me.code, 0, me.stderr)
    assert.match(me.stdout, /^cli <cli@example.com> on http:\/\/127\.0\.0\.1:\d+/)
  })

  test('an expired access token is renewed with the refresh token, and the new session is kept', async () => {
    await login()
    const kept = JSON.parse(await readFile(credentialsFile(), 'utf8'))
    kept[server.url].accessToken = 'expired.token.value'
    await writeFile(credentialsFile(), JSON.stringify(kept))
    const me = await gilgal(['whoami'], server)
    assert.equal(me.code, 0, me.stderr)
    const renewed = JSON.parse(await readFile(credentialsFile(), 'utf8'))[server.url]
    assert.notEqual(renewed.accessToken, 'expired.token.value')
    assert.notEqual(renewed.refreshToken, kept[server.url].refreshToken, 'refresh tokens are single use')
  })

  test('a session that cannot be renewed: one clear line that says to log in again', async () => {
    await writeFile(
      credentialsFile(),
      JSON.stringify({ [server.url]: { accessToken: 'expired', refreshToken: 'revoked' } }),
    )
    assertOneClearLine(await gilgal(['whoami'], server), /session expired .*run gilgal login/)
    await login()
  })

  test('an unreachable server: one clear line naming it', async () => {
    const nowhere = { ...server, url: `http://127.0.0.1:${await freePort()}` }
    assertOneClearLine(
      await gilgal(['get', 'projects'], nowhere),
      /cannot reach Gilgal at http:\/\/127\.0\.0\.1:\d+ .*ECONNREFUSED/,
    )
  })

  test('logout forgets the session', async () => {
    await login()
    assert.equal((await gilgal(['logout'], server)).code, 0)
    assertOneClearLine(await gilgal(['whoami'], server), /not logged in/)
    await login()
  })
})

describe('apply, diff, get', () => {
  test('diff exits 1 with the changes, apply writes them, diff then exits 0', async () => {
    await login()
    const file = await manifestFile(manifest(1))
    const before = await gilgal(['diff', '-f', file], server)
    assert.equal(before.code, 1, before.stderr)
    assert.match(before.stdout, /\+\+\+ environment\/clishop\/production \(manifest\)/)
    const applied = await gilgal(['apply', '-f', file], server)
    assert.equal(applied.code, 0, applied.stderr)
    assert.match(applied.stdout, /project\/clishop created/)
    assert.match(applied.stdout, /environment\/clishop\/production created \(revision 1\)/)
    const same = await gilgal(['diff', '-f', file], server)
    assert.deepEqual([same.code, same.stdout], [0, ''])
    const scaled = await gilgal(['diff', '-f', await manifestFile(manifest(3))], server)
    assert.equal(scaled.code, 1)
    assert.match(scaled.stdout, /@@ \/spec\/replicas @@\n-1\n\+3/)
  })

  test('a manifest the server refuses: diff exits 2, apply 1, each with the problem, and nothing changes', async () => {
    const file = await manifestFile(manifest(1).replace('replicas: 1', 'replicas: -4'))
    const diff = await gilgal(['diff', '-f', file], server)
    assert.equal(diff.code, 2)
    assert.match(diff.stderr, /replicas/)
    const apply = await gilgal(['apply', '-f', file], server)
    assert.equal(apply.code, 1)
    assert.match(apply.stderr, /replicas/)
    const json = await gilgal(['get', 'environments', '-p', 'clishop', '-o', 'json'], server)
    assert.equal(JSON.parse(json.stdout).items[0].spec.replicas, 1)
  })

  test('get prints a table, and -o json and -o yaml parse', async () => {
    const table = await gilgal(['get', 'environments'], server)
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout.split('\n')[0]!, /^PROJECT\s+NAME\s+PHASE\s+READY\s+REVISION\s+URL\s+AGE$/)
    assert.match(table.stdout, /clishop\s+production\s+Pending/)
    const json = JSON.parse((await gilgal(['get', 'deployments', '-o', 'json'], server)).stdout)
    assert.equal(json.items[0].metadata.revision, 1)
    const yaml = parse((await gilgal(['get', 'projects', '-o', 'yaml'], server)).stdout)
    assert.equal(yaml.items[0].metadata.name, 'clishop')
    const described = await gilgal(['describe', 'environment', 'clishop/production'], server)
    assert.equal(described.code, 0, described.stderr)
    assert.match(described.stdout, /Events:\n.*\n.*Created/)
    assert.equal(parseAllDocuments(described.stdout.split('\nEvents:')[0]!)[0]!.toJS().kind, 'Environment')
    const revision = await gilgal(['describe', 'deployment', 'clishop/production/r1'], server)
    assert.equal(revision.code, 0, revision.stderr)
    assert.match(revision.stdout, /^kind: Deployment\n/)
    assert.match(revision.stdout, /revision: 1\n/)
  })

  test('rollout status gives up at its timeout with a non-zero exit and where the rollout stood', async () => {
    // No controller here: revision 1 stays Queued (and this server cannot watch: the CLI polls).
    const started = performance.now()
    const status = await gilgal(['rollout', 'status', 'clishop/production', '--timeout', '1'], server)
    assert.equal(status.code, 1)
    assert.match(status.stderr, /^gilgal: timed out after 1 s: revision 1: Queued/)
    assert.ok(performance.now() - started < 10_000)
  })

  test('cancel takes a revision as users name it, and the server records the request', async () => {
    const cancelled = await gilgal(['cancel', 'clishop/production/r1'], server)
    assert.equal(cancelled.code, 0, cancelled.stderr)
    assert.match(cancelled.stdout, /revision 1 of clishop\/production: cancellation requested/)
    const [revision] = JSON.parse((await gilgal(['get', 'deployments', '-o', 'json'], server)).stdout).items
    assert.ok(revision.metadata.cancelRequestedAt)
    assertOneClearLine(await gilgal(['cancel', 'clishop/production/r9'], server), /no deployment|not found/i)
  })

  test('an API key made by the CLI works as GILGAL_TOKEN until it is revoked', async () => {
    const created = await gilgal(['api-keys', 'create', 'ci', '--scope', 'read'], server)
    assert.equal(created.code, 0, created.stderr)
    const key = created.stdout.trim()
    assert.match(key, /^gil_/)
    const asKey = { ...server, configDir: os.tmpdir(), token: key }
    assert.equal((await gilgal(['whoami'], asKey)).code, 0)
    const listed = await gilgal(['api-keys', 'list'], server)
    const id = listed.stdout
      .split('\n')
      .find((line) => line.startsWith('ci '))!
      .trim()
      .split(/\s+/)
      .at(-1)!
    assert.equal((await gilgal(['api-keys', 'revoke', id], server)).code, 0)
    assertOneClearLine(await gilgal(['whoami'], asKey), /revoked|not logged in/)
  })

  test('delete asks the server to delete; the environment shows Deleting', async () => {
    const deleted = await gilgal(['delete', 'environment', 'clishop/production'], server)
    assert.equal(deleted.code, 0, deleted.stderr)
    assert.match(deleted.stdout, /environment\/clishop\/production deletion requested/)
    assert.match((await gilgal(['get', 'environments'], server)).stdout, /production\s+Deleting/)
  })
})

test('every command has --help with an example', async () => {
  const commands = [
    'login',
    'logout',
    'whoami',
    'apply',
    'diff',
    'get',
    'describe',
    'deploy',
    'rollback',
    'cancel',
  ]
  const more = [
    'logs',
    'events',
    'delete',
    'rollout status',
    'rollout history',
    'api-keys create',
    'api-keys list',
  ]
  for (const command of [...commands, ...more, 'api-keys revoke']) {
    const help = await gilgal([...command.split(' '), '--help'], server)
    assert.equal(help.code, 0, command)
    assert.match(help.stdout, /Example/, command)
  }
  const top = await gilgal(['--help'], server)
  for (const command of [...commands, 'logs', 'events', 'delete', 'rollout', 'api-keys'])
    assert.match(top.stdout, new RegExp(`\\n  ${command}\\b`), command)
})
