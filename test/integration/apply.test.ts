import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, registerUser, type TestUser } from '../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

let db: TestDatabase
let app: FastifyInstance
let user: TestUser

before(async () => {
  db = await createTestDatabase()
  app = await buildTestApp(db.pool)
  user = await registerUser(app)
})

after(async () => {
  await app.close()
  await db.drop()
})

function apply(body: string | object, query = '', contentType = 'application/yaml') {
  const payload = typeof body === 'string' ? body : JSON.stringify(body)
  const type = typeof body === 'string' ? contentType : 'application/json'
  return app.inject({
    method: 'POST',
    url: `/api/apply${query}`,
    headers: { ...user.auth, 'content-type': type },
    payload,
  })
}

function manifests(project: string, env: Record<string, string> = { MODE: 'a' }, replicas = 1): string {
  return `
apiVersion: gilgal.dev/v1
kind: Project
metadata: { name: ${project} }
spec:
  repository: { url: https://git.example.com/${project}.git, ref: main }
---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: production, project: ${project} }
spec:
  env: ${JSON.stringify(env)}
  secretEnv: { API_TOKEN: tok-super-secret-1 }
  replicas: ${replicas}
  port: 3000
`
}

async function count(table: string): Promise<number> {
  const { rows } = await db.pool.query(`select count(*)::int as n from ${table}`)
  return rows[0].n
}

describe('apply', () => {
  test('creates, then answers unchanged everywhere on a second identical apply', async () => {
    const first = await apply(manifests('shop'))
    assert.equal(first.statusCode, 200, first.body)
    assert.deepEqual(first.json(), {
      dryRun: false,
      items: [
        { kind: 'Project', name: 'shop', project: 'shop', action: 'created' },
        { kind: 'Environment', name: 'production', project: 'shop', action: 'created', revision: 1 },
      ],
    })
    const events = await count('events')
    const { rows: before } = await db.pool.query('select generation from environments')
    const second = await apply(manifests('shop'))
    assert.deepEqual(
      second.json().items.map((i: { action: string }) => i.action),
      ['unchanged', 'unchanged'],
    )
    const { rows: afterRows } = await db.pool.query('select generation from environments')
    assert.deepEqual(afterRows, before)
    assert.equal(await count('events'), events, 'an unchanged apply records nothing')
    assert.equal(await count('deployments'), 1)
  })

  test('an environment stored without `command` (as earlier rollbacks stored it) makes no revision when re-applied', async () => {
    await apply(manifests('old-rollback'))
    await db.pool.query(
      `update environments e set spec = e.spec - 'command' from projects p
        where p.id = e.project_id and p.name = 'old-rollback'`,
    )
    const again = (await apply(manifests('old-rollback'))).json().items[1]
    assert.equal(again.action, 'configured', 'the spec gains its default command back')
    assert.equal(
      again.revision,
      undefined,
      'no snapshotted field changed: null and absent mean the same command',
    )
  })

  test('a snapshotted change makes a revision; replicas alone does not', async () => {
    await apply(manifests('rev'))
    const configured = (await apply(manifests('rev', { MODE: 'b' }))).json().items[1]
    assert.deepEqual(configured, {
      kind: 'Environment',
      name: 'production',
      project: 'rev',
      action: 'configured',
      revision: 2,
    })
    const scaled = (await apply(manifests('rev', { MODE: 'b' }, 3))).json().items[1]
    assert.deepEqual(scaled, {
      kind: 'Environment',
      name: 'production',
      project: 'rev',
      action: 'configured',
    })
  })

  test('placement is part of the revision; a bad constraint is refused by path and changes nothing', async () => {
    await apply(manifests('placed'))
    const placed = `${manifests('placed')}  placement: { constraints: ['node.labels.zone==eu-1'] }\n`
    const configured = (await apply(placed)).json().items[1]
    assert.equal(configured.revision, 2, 'a new placement rolls out as a new revision')
    assert.equal((await apply(placed)).json().items[1].action, 'unchanged')
    const { rows } = await db.pool.query(
      `select d.spec->'placement' as placement from deployments d join environments e on e.id = d.environment_id
        join projects p on p.id = e.project_id where p.name = 'placed' order by d.revision`,
    )
    assert.deepEqual(
      rows.map((r) => r.placement),
      [null, { constraints: ['node.labels.zone==eu-1'] }],
    )
    const before = await count('deployments')
    const bad = await apply(placed.replace('node.labels.zone==eu-1', 'node.role==boss'))
    assert.equal(bad.statusCode, 422, bad.body)
    assert.match(bad.body, /placement\/constraints\/0/)
    assert.equal(await count('deployments'), before)
  })

  test('JSON bodies work like YAML', async () => {
    const body = [{ apiVersion: 'gilgal.dev/v1', kind: 'Project', metadata: { name: 'json-shop' } }]
    const response = await apply(body)
    assert.equal(response.statusCode, 200)
    assert.equal(response.json().items[0].action, 'created')
  })
})

describe('dry run', () => {
  test('answers the same actions with a field-level diff, and writes nothing', async () => {
    await apply(manifests('dry'))
    const counts = await Promise.all(['projects', 'environments', 'deployments', 'events'].map(count))
    const response = await apply(
      manifests('dry', { MODE: 'changed' }).replace('tok-super-secret-1', 'tok-super-secret-2'),
      '?dryRun=true',
    )
    assert.equal(response.statusCode, 200)
    const [project, environment] = response.json().items
    assert.equal(response.json().dryRun, true)
    assert.deepEqual(project, { kind: 'Project', name: 'dry', project: 'dry', action: 'unchanged', diff: [] })
    assert.equal(environment.action, 'configured')
    assert.equal(environment.revision, 2)
    assert.deepEqual(environment.diff, [
      { path: '/spec/env/MODE', op: 'replace', before: 'a', after: 'changed' },
      { path: '/spec/secretEnv/API_TOKEN', op: 'replace', secret: true },
    ])
    assert.ok(!response.body.includes('tok-super-secret'))
    assert.deepEqual(
      await Promise.all(['projects', 'environments', 'deployments', 'events'].map(count)),
      counts,
    )
  })
})

describe('atomicity', () => {
  test('a bad third document leaves the first two unwritten and names the document', async () => {
    const bad = `${manifests('atomic')}---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: staging, project: atomic }
spec: { replicas: many }
`
    const response = await apply(bad)
    assert.equal(response.statusCode, 422)
    assert.deepEqual(response.json().errors, [
      { path: '/documents/2/spec/replicas', message: 'must be integer' },
    ])
    assert.equal((await db.pool.query("select 1 from projects where name = 'atomic'")).rowCount, 0)
  })

  test('a document that fails while writing rolls back the whole request', async () => {
    const local = `${manifests('local-src')}---
apiVersion: gilgal.dev/v1
kind: Deployment
metadata: { name: sneaky, project: local-src, environment: production }
spec: { source: { git: { url: 'file:///etc' } } }
`
    const refused = await apply(local)
    assert.equal(refused.statusCode, 422)
    assert.match(refused.json().detail, /local source/)
    const orphan = `${manifests('rolled')}---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: staging, project: no-such-project }
`
    const response = await apply(orphan)
    assert.equal(response.statusCode, 404)
    assert.match(
      response.json().detail,
      /^document 2 \(Environment no-such-project\/staging\): project no-such-project not found/,
    )
    assert.equal((await db.pool.query("select 1 from projects where name = 'rolled'")).rowCount, 0)
  })

  test('every invalid document is reported at once', async () => {
    const response = await apply([
      { apiVersion: 'gilgal.dev/v1', kind: 'Project', metadata: { name: 'Bad_Name' } },
      { apiVersion: 'gilgal.dev/v1', kind: 'Secret', metadata: { name: 'x' } },
      { apiVersion: 'gilgal.dev/v1', kind: 'Project', metadata: { name: 'ok' }, spec: { ownerId: 'u1' } },
    ])
    assert.equal(response.statusCode, 422)
    assert.deepEqual(
      response.json().errors.map((e: { path: string }) => e.path),
      ['/documents/0/metadata/name', '/documents/1/kind', '/documents/2/spec/ownerId'],
    )
  })
})

describe('prune and named deployments', () => {
  test('prune deletes the environments of named projects that the request no longer lists', async () => {
    const two = `${manifests('pruned')}---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: staging, project: pruned }
`
    await apply(two)
    const response = await apply(manifests('pruned'), '?prune=true')
    assert.deepEqual(response.json().items.at(-1), {
      kind: 'Environment',
      name: 'staging',
      project: 'pruned',
      action: 'deleted',
    })
    const { rows } = await db.pool.query(
      "select e.name from environments e join projects p on p.id = e.project_id where p.name = 'pruned' and e.deletion_requested_at is not null",
    )
    assert.deepEqual(rows, [{ name: 'staging' }])
    const again = await apply(manifests('pruned'), '?prune=true')
    assert.equal(again.json().items.length, 2, 'an environment already being deleted is not deleted again')
  })

  test('prune keeps the environment a Deployment targets, and leaves projects only deployed to alone', async () => {
    const two = `${manifests('targets')}---
apiVersion: gilgal.dev/v1
kind: Environment
metadata: { name: staging, project: targets }
`
    await apply(two)
    const deployOnly = `
apiVersion: gilgal.dev/v1
kind: Deployment
metadata: { name: hotfix, project: targets, environment: staging }
`
    const response = await apply(deployOnly, '?prune=true')
    assert.deepEqual(
      response.json().items.map((i: { kind: string; action: string }) => `${i.kind}:${i.action}`),
      ['Deployment:created'],
    )
    const { rowCount } = await db.pool.query(
      'select 1 from environments where deletion_requested_at is not null and name = $1',
      ['production'],
    )
    assert.equal(rowCount, 0, 'nothing was pruned')
  })

  test('a named Deployment is idempotent by name and immutable', async () => {
    await apply(manifests('named'))
    const release = (ref: string) => `
apiVersion: gilgal.dev/v1
kind: Deployment
metadata: { name: release-1, project: named, environment: production }
spec: { source: { git: { ref: ${ref} } } }
`
    assert.deepEqual((await apply(release('v1.0.0'))).json().items[0], {
      kind: 'Deployment',
      name: 'release-1',
      project: 'named',
      environment: 'production',
      action: 'created',
      revision: 2,
    })
    assert.equal((await apply(release('v1.0.0'))).json().items[0].action, 'unchanged')
    const changed = await apply(release('v2.0.0'))
    assert.equal(changed.statusCode, 409)
    assert.equal(changed.json().code, 'GILGAL_DEPLOYMENT_IMMUTABLE')
  })
})

describe('hostile input', () => {
  test('malformed YAML is a 422 with line and column', async () => {
    const response = await apply('kind: Project\nmetadata: { name: x\n')
    assert.equal(response.statusCode, 422)
    assert.match(response.json().detail, /line \d+, column \d+/)
  })

  test('an alias bomb is refused fast', async () => {
    const lines = ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]']
    for (let level = 1; level <= 9; level++)
      lines.push(
        `l${level}: &l${level} [${Array(9)
          .fill(`*l${level - 1}`)
          .join(', ')}]`,
      )
    const started = performance.now()
    const response = await apply(lines.join('\n'))
    assert.equal(response.statusCode, 422)
    assert.match(response.json().detail, /too many aliases/)
    assert.ok(performance.now() - started < 2000)
  })

  test('__proto__ and constructor keys are refused, in YAML and in JSON', async () => {
    const yaml = await apply(
      'apiVersion: gilgal.dev/v1\nkind: Project\nmetadata: { name: proto }\nspec: { __proto__: { polluted: true } }\n',
    )
    assert.equal(yaml.statusCode, 422)
    assert.match(yaml.body, /__proto__/)
    const json = await app.inject({
      method: 'POST',
      url: '/api/apply',
      headers: { ...user.auth, 'content-type': 'application/json' },
      payload:
        '{"apiVersion":"gilgal.dev/v1","kind":"Project","metadata":{"name":"proto"},"spec":{"constructor":{"prototype":{"x":1}}}}',
    })
    assert.equal(json.statusCode, 400)
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    assert.equal((await db.pool.query("select 1 from projects where name = 'proto'")).rowCount, 0)
  })

  test('a body over 1 MiB is a 413', async () => {
    const response = await apply(`# ${'x'.repeat(1024 * 1024 + 10)}\n`)
    assert.equal(response.statusCode, 413)
    assert.match(String(response.headers['content-type']), /problem\+json/)
  })

  test('deeply nested JSON is a 422 naming the limit, not a crash; nothing is written', async () => {
    const depth = 100_000 // built as text: JSON.stringify itself would run out of stack
    const spec = `${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`
    const response = await apply(
      `{"apiVersion":"gilgal.dev/v1","kind":"Project","metadata":{"name":"deep"},"spec":${spec}}`,
      '',
      'application/json',
    )
    assert.equal(response.statusCode, 422, response.body.slice(0, 200))
    assert.match(response.json().detail, /nested deeper than 32 levels/)
    assert.equal((await db.pool.query("select 1 from projects where name = 'deep'")).rowCount, 0)
  })

  test('a request of many unknown keys gets a short answer naming the first problems', async () => {
    const labels = Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`unknown${i}`, 'x']))
    const response = await apply({
      apiVersion: 'gilgal.dev/v1',
      kind: 'Project',
      metadata: { name: 'wide' },
      spec: labels,
    })
    assert.equal(response.statusCode, 422)
    assert.ok(response.body.length < 20_000, `the answer is ${response.body.length} bytes`)
    assert.equal(response.json().errors.length, 50)
    assert.match(response.json().detail, /and 29950 more problems/)
  })

  test('the event loop stays free while the largest YAML request is parsed', async () => {
    // Just under the 1 MiB body limit: about a second of parsing (1.1 s measured on the event loop).
    const labels = Array.from({ length: 70_000 }, (_, i) => `    l${i}: v`).join('\n')
    const body = `apiVersion: gilgal.dev/v1\nkind: Project\nmetadata:\n  name: big\n  labels:\n${labels}\n`
    assert.ok(body.length < 1024 * 1024)
    // The longest gap between ticks of a 10 ms timer while the request is under way.
    let last = performance.now()
    let longest = 0
    const tick = () => {
      const now = performance.now()
      longest = Math.max(longest, now - last)
      last = now
    }
    const ticker = setInterval(tick, 10)
    const big = apply(body)
    const health = await app.inject({ method: 'GET', url: '/health' })
    const applied = await big
    clearInterval(ticker)
    tick()
    assert.equal(health.statusCode, 200)
    assert.equal(applied.statusCode, 422, 'too many labels, found once parsed')
    assert.ok(longest < 300, `the event loop stalled for ${Math.round(longest)} ms`)
  })

  test('one user sending large bodies as fast as allowed delays another by one read at most', async () => {
    const flooder = await registerUser(app)
    const labels = Array.from({ length: 70_000 }, (_, i) => `    l${i}: v`).join('\n')
    const large = `apiVersion: gilgal.dev/v1\nkind: Project\nmetadata:\n  name: flood\n  labels:\n${labels}\n`
    const order: string[] = []
    const send = (who: string, sender: TestUser, body: string) =>
      app
        .inject({
          method: 'POST',
          url: '/api/apply',
          headers: { ...sender.auth, 'content-type': 'application/yaml' },
          payload: body,
        })
        .then((response) => (order.push(who), response))
    const flood = [1, 2, 3, 4].map((n) => send(`flood ${n}`, flooder, large))
    const small = send('small', user, manifests('fair'))
    const [answered] = await Promise.all([small, ...flood])
    assert.equal(answered.statusCode, 200, answered.body)
    assert.ok(
      order.indexOf('small') <= 1,
      `the small apply waited for ${order.indexOf('small')} large ones: ${order}`,
    )
  })

  test('a REST spec is bounded too: it is validated on the event loop', async () => {
    const project = (
      await app.inject({
        method: 'POST',
        url: '/api/projects',
        headers: user.auth,
        payload: { name: 'rest-bound' },
      })
    ).json()
    const spec = Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`unknown${i}`, 'x']))
    const response = await app.inject({
      method: 'POST',
      url: `/api/projects/${project.metadata.id}/environments`,
      headers: user.auth,
      payload: { name: 'wide', spec },
    })
    assert.equal(response.statusCode, 422)
    assert.match(response.json().detail, /holds more than 5000 keys and items/)
  })

  test('a read-only key cannot apply', async () => {
    const key = (
      await app.inject({
        method: 'POST',
        url: '/api/auth/api-keys',
        headers: user.auth,
        payload: { name: 'ro', scope: 'read' },
      })
    ).json().key
    const response = await app.inject({
      method: 'POST',
      url: '/api/apply',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/yaml' },
      payload: manifests('readonly'),
    })
    assert.equal(response.statusCode, 403)
  })
})
