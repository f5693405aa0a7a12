import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { readFile } from 'node:fs/promises'
import { after, before, test } from 'node:test'
import { Validator } from '@seriousme/openapi-schema-validator'
import type { FastifyInstance } from 'fastify'
import { EXAMPLE_BODIES } from '../../scripts/api-examples.js'
import { API_DOCS_FILE, generateApiDocs, OPENAPI_FILE } from '../../scripts/generate-api-docs.js'
import { buildTestApp, client, registerUser } from '../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

type Json = { [key: string]: unknown }
type Operation = { method: string; path: string; spec: Json }

let db: TestDatabase
let app: FastifyInstance
let document: Json & { paths: Record<string, Record<string, Json>>; components: { schemas: Json } }
/** `METHOD /path/{param}` of every route a client can call, as registered. */
const registered: string[] = []

// Fastify announces every new instance on this channel: the hook is in place before buildApp
// registers its first route, so it sees them all. Read at once: Fastify may change the options
// object after the hook has run (it did, for '/' under a prefix).
const INITIALIZATION = 'fastify.initialization'
const collectRoutes = (message: unknown) => {
  ;(message as { fastify: FastifyInstance }).fastify.addHook('onRoute', (route) => {
    // Not the HEAD twins of GETs, not the hidden ones (/docs, /metrics, the document itself).
    if ((route.schema as { hide?: boolean } | undefined)?.hide) return
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') registered.push(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`)
    }
  })
}

before(async () => {
  db = await createTestDatabase()
  subscribe(INITIALIZATION, collectRoutes)
  try {
    app = await buildTestApp(db.pool)
  } finally {
    unsubscribe(INITIALIZATION, collectRoutes)
  }
  await app.ready()
  document = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json()
})

after(async () => {
  await app?.close()
  await db?.drop()
})

function operations(): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, spec]) => ({ method: method.toUpperCase(), path, spec })),
  )
}

test('the document is valid OpenAPI 3.1 and every $ref resolves inside it', async () => {
  assert.match(String(document.openapi), /^3\.1\./)
  const validator = new Validator()
  const result = await validator.validate(structuredClone(document))
  assert.ok(result.valid, `not valid OpenAPI: ${JSON.stringify(result.errors, null, 2)}`)
  assert.doesNotThrow(() => validator.resolveRefs(), 'a $ref points outside the document or nowhere')
})

test('every route the server registers is in the document, with its method, and nothing else', () => {
  assert.ok(registered.length >= 30, `the routes were collected (${registered.length})`)
  const documented = operations().map(({ method, path }) => `${method} ${path}`)
  assert.deepEqual([...documented].sort(), [...registered].sort())
})

test('schemas have names, and no path is listed twice with a trailing slash', async () => {
  const names = Object.keys(document.components.schemas)
  assert.deepEqual(
    names.filter((name) => !/^[A-Z][A-Za-z0-9]*$/.test(name)),
    [],
    'component names are identifiers (no def-0, def-1-spec)',
  )
  for (const name of ['Problem', 'Project', 'Environment', 'Deployment', 'EnvironmentSpec', 'Manifest'])
    assert.ok(names.includes(name), `component ${name}`)
  const paths = Object.keys(document.paths)
  assert.deepEqual(
    paths.filter((path) => path.length > 1 && path.endsWith('/')),
    [],
  )
  // The document lists one form; the router still answers both.
  for (const url of ['/api/projects', '/api/projects/', '/api/auth/api-keys', '/api/auth/api-keys/'])
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 401, url)
})

test('every operation has an operationId, a summary, a tag, its security, and its path parameters', () => {
  const ids = operations().map(({ spec }) => spec.operationId)
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique')
  for (const { method, path, spec } of operations()) {
    const where = `${method} ${path}`
    assert.match(String(spec.operationId), /^[a-z][A-Za-z]+$/, `${where}: operationId`)
    assert.ok(spec.summary, `${where}: summary`)
    assert.equal((spec.tags as string[] | undefined)?.length, 1, `${where}: one tag`)
    assert.ok(Array.isArray(spec.security), `${where}: security, [] when public`)
    const inPath = ((spec.parameters ?? []) as Json[]).filter((p) => p.in === 'path')
    const named = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1])
    assert.deepEqual(
      inPath.map((p) => p.name),
      named,
      `${where}: path parameters`,
    )
    assert.ok(
      inPath.every((p) => p.required === true),
      `${where}: path parameters are required`,
    )
    // Every 4xx comes from the problem handler; a 5xx may be the route's own answer (/readyz).
    for (const [status, response] of Object.entries(spec.responses as Record<string, Json>)) {
      const types = Object.keys((response.content ?? {}) as Json)
      if (Number(status) >= 400 && Number(status) < 500)
        assert.deepEqual(types, ['application/problem+json'], `${where} ${status}`)
    }
  }
})

function securityOf(operation: Operation): Record<string, string[]>[] {
  return operation.spec.security as Record<string, string[]>[]
}

// What the auth hook (and the handlers that refuse API keys) answer: login and refresh have 401s of their own.
const REFUSALS = ['GILGAL_UNAUTHORIZED', 'GILGAL_READ_ONLY_KEY', 'GILGAL_SESSION_REQUIRED']

/**
 * Each operation called with `headers`, with path values no one owns: whether the caller was refused.
 * The auth hook refuses before validation. Routes that refuse API keys do so in the handler, after
 * validation: those get their example body, so a refusal is a refusal and not a 400.
 */
async function refusals(headers: Record<string, string>): Promise<Map<string, boolean>> {
  const answers = new Map<string, boolean>()
  for (const operation of operations()) {
    const { method, path, spec } = operation
    const url = path.replace(/\{\w+\}/g, randomUUID())
    const example = EXAMPLE_BODIES[String(spec.operationId)]
    const isSessionOnly = !securityOf(operation).some((requirement) => requirement.apiKey)
    const payload = isSessionOnly && example && 'json' in example ? (example.json as object) : undefined
    const response = await app.inject({ method: method as 'GET', url, headers, payload })
    const code = response.statusCode >= 400 ? (response.json() as { code?: string }).code : undefined
    answers.set(`${method} ${path}`, REFUSALS.includes(String(code)))
  }
  return answers
}

test('the security each operation declares is what the server enforces', async () => {
  const user = await registerUser(app)
  const keyOf = async (scope: string) =>
    (await client(app, user).post('/api/auth/api-keys', { name: scope, scope })).json().key as string
  const anonymous = await refusals({})
  const readKey = await refusals({ authorization: `Bearer ${await keyOf('read')}` })
  const writeKey = await refusals({ authorization: `Bearer ${await keyOf('write')}` })
  const session = await refusals(user.auth)
  for (const operation of operations()) {
    const where = `${operation.method} ${operation.path}`
    const security = securityOf(operation)
    const keyScopes = security.find((requirement) => requirement.apiKey)?.apiKey
    assert.equal(anonymous.get(where), security.length > 0, `${where} without credentials`)
    assert.equal(session.get(where), false, `${where} with an access token`)
    if (security.length === 0) continue
    assert.equal(readKey.get(where), !keyScopes?.includes('read'), `${where} with a read key`)
    assert.equal(writeKey.get(where), !keyScopes, `${where} with a write key`)
  }
})

test('docs/openapi.json and docs/API.md are generated from the document as it is now', async () => {
  const generated = await generateApiDocs()
  const stale = 'is out of date: run npm run docs:api'
  assert.ok((await readFile(OPENAPI_FILE, 'utf8')) === generated.openapi, `docs/openapi.json ${stale}`)
  assert.ok((await readFile(API_DOCS_FILE, 'utf8')) === generated.markdown, `docs/API.md ${stale}`)
  // The script builds the app without a database: its document is the one a real server serves.
  const served = { ...document, info: { ...(document.info as Json), version: 'any' } }
  const written = JSON.parse(generated.openapi) as Json
  assert.deepEqual({ ...written, info: { ...(written.info as Json), version: 'any' } }, served)
})

test('docs/API.md shows every operation, with a curl example', async () => {
  const markdown = await readFile(API_DOCS_FILE, 'utf8')
  for (const { method, path } of operations()) {
    const section = markdown.split(`\n### ${method} ${path}\n`)[1]?.split('\n### ')[0]
    assert.ok(section, `docs/API.md has a section for ${method} ${path}`)
    assert.match(section, /```sh\ncurl /, `${method} ${path}: a curl example`)
  }
})
