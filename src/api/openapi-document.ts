import { STATUS_CODES } from 'node:http'
import { isDeepStrictEqual } from 'node:util'
import { DOCUMENTED_AS } from './schemas.js'

/**
 * What turns @fastify/swagger's output into a document that stands alone: every schema inline or
 * under `components.schemas` with a name a person (or a code generator) would pick, every `$ref`
 * inside the document, errors as application/problem+json. plugins/openapi.ts plugs these in as
 * the plugin's `refResolver`, `transform` and `transformObject`.
 */

type Json = { [key: string]: unknown }
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const SCHEMAS = '#/components/schemas/'
const IDENTIFIER = /^[A-Z][A-Za-z0-9]*$/
const pascal = (word: string) => word.charAt(0).toUpperCase() + word.slice(1)

/**
 * The component name of a shared schema (app.addSchema): the manifest documents, by their `$id`
 * (`…/project.v1.json` → ProjectManifest). The plugin names their `definitions` `<name>-<key>`;
 * renameDefinitions turns those into ProjectSpec, Source, ….
 */
export function componentNameOf(schema: { $id?: string }): string {
  const file = /\/([a-z]+)\.v\d+\.json$/.exec(schema.$id ?? '')?.[1]
  if (!file) throw new Error(`the shared schema ${schema.$id} has no OpenAPI component name`)
  return file === 'common' || file === 'manifest' ? pascal(file) : `${pascal(file)}Manifest`
}

/** A route schema as the document shows it: schemas marked with checkedByHandler are swapped. */
export function documentedForm(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(documentedForm)
  if (!isObject(value)) return value
  const documented = (value as { [DOCUMENTED_AS]?: object })[DOCUMENTED_AS]
  if (documented) return structuredClone(documented)
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, documentedForm(item)]))
}

/** What a problem answer means on our routes, where the bare status text says too little. */
const PROBLEM_DESCRIPTIONS: Record<string, string> = {
  400: 'The request does not match its schema: `errors` names each field.',
  401: 'Not authenticated: no valid access token or API key (or, at login, a wrong email or password).',
  403: 'Not allowed: a read-only API key, an API key where a login session is required, a wrong password.',
  404: 'No such object, or it is not yours.',
  409: 'Conflicts with the current state: a name that is taken, a deletion in progress.',
  413: 'The body, or one of its documents, is too large.',
  422: 'Well-formed but refused (a spec, a manifest, a password): `errors` names each field.',
  429: 'Too many requests: wait for Retry-After seconds.',
  503: 'A dependency is unavailable: the database (any operation may answer so; retry after Retry-After seconds, code GILGAL_UNAVAILABLE), or the Docker engine logs are read from.',
}

const WATCH_DESCRIPTION =
  'true: Server-Sent Events: the object now (event `object`, id = its resource version), then again at every change; event `deleted` once it is gone.'

/** The last step (`transformObject`): names, problem+json, event streams, a stable order. */
export function finishDocument(document: Json): Json {
  const components = document.components as { schemas: Json }
  renameDefinitions(document, components.schemas)
  hoistTitledSchemas(document, components.schemas)
  dropEmptyShells(document, components.schemas)
  for (const operation of operationsOf(document)) describeResponses(operation)
  components.schemas = Object.fromEntries(
    Object.entries(components.schemas).sort(([a], [b]) => a.localeCompare(b)),
  )
  return document
}

/** The hoisted manifest definitions: `Common-gitSource` → GitSource, `EnvironmentManifest-spec` → EnvironmentSpec. */
function renameDefinitions(document: Json, schemas: Json): void {
  const renamed = new Map<string, string>()
  for (const name of Object.keys(schemas)) {
    const [owner, key, clash] = name.split('-')
    if (!owner || !key) continue
    const better = owner === 'Common' ? pascal(key) : `${owner.replace(/Manifest$/, '')}${pascal(key)}`
    if (clash !== undefined || better in schemas || [...renamed.values()].includes(better))
      throw new Error(`the schema definition ${name} cannot be named ${better}: the name is taken`)
    renamed.set(name, better)
  }
  for (const [from, to] of renamed) {
    schemas[to] = schemas[from]
    delete schemas[from]
  }
  rewriteRefs(document, (name) => renamed.get(name) ?? name)
}

/**
 * Moves every nested schema whose `title` is an identifier (`Problem`, `Build`) to
 * `components.schemas.<title>` and refers to it there. Two different schemas with one title are a
 * bug in the route schemas: refused, so the document never names two shapes alike.
 */
function hoistTitledSchemas(document: Json, schemas: Json): void {
  const hoist = (node: unknown, isComponent = false): unknown => {
    if (Array.isArray(node)) return node.map((item) => hoist(item))
    if (!isObject(node)) return node
    const out = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, hoist(value)]))
    const name = typeof out.title === 'string' && IDENTIFIER.test(out.title) ? out.title : undefined
    if (!name || isComponent) return out
    if (name in schemas && !isDeepStrictEqual(schemas[name], out))
      throw new Error(`two different schemas are titled ${name}: give one another title`)
    schemas[name] = out
    return { $ref: `${SCHEMAS}${name}` }
  }
  for (const name of Object.keys(schemas)) schemas[name] = hoist(schemas[name], true)
  document.paths = hoist(document.paths)
}

/** A document of definitions only (common.v1.json) is left empty once they are hoisted. */
function dropEmptyShells(document: Json, schemas: Json): void {
  const referenced = new Set<string>()
  rewriteRefs(document, (name) => {
    referenced.add(name)
    return name
  })
  for (const [name, schema] of Object.entries(schemas)) {
    const isEmpty = isObject(schema) && Object.keys(schema).every((key) => key === 'title')
    if (isEmpty && !referenced.has(name)) delete schemas[name]
  }
}

function rewriteRefs(node: unknown, rename: (name: string) => string): void {
  if (Array.isArray(node)) return node.forEach((item) => rewriteRefs(item, rename))
  if (!isObject(node)) return
  if (typeof node.$ref === 'string' && node.$ref.startsWith(SCHEMAS))
    node.$ref = `${SCHEMAS}${rename(node.$ref.slice(SCHEMAS.length))}`
  for (const value of Object.values(node)) rewriteRefs(value, rename)
}

function operationsOf(document: Json): Json[] {
  return Object.values(document.paths as Json).flatMap((item) => Object.values(item as Json)) as Json[]
}

type Response = { description: string; content?: Record<string, { schema?: Json }> }

function describeResponses(operation: Json): void {
  const responses = operation.responses as Record<string, Response>
  for (const [status, response] of Object.entries(responses)) {
    const json = response.content?.['application/json']
    if (Number(status) >= 400 && json?.schema?.$ref === `${SCHEMAS}Problem`) {
      response.content = { 'application/problem+json': json }
      response.description = PROBLEM_DESCRIPTIONS[status] ?? STATUS_CODES[status] ?? status
    } else if (response.description === 'Default Response') {
      response.description = STATUS_CODES[status] ?? status
    }
    if (status === '204') delete response.content
  }
  const parameters = (operation.parameters ?? []) as Json[]
  const stream = parameters.find((p) => p.in === 'query' && (p.name === 'watch' || p.name === 'follow'))
  if (!stream || !responses[200]?.content) return
  stream.description ??= WATCH_DESCRIPTION
  responses[200].content['text/event-stream'] = {
    schema: { type: 'string', description: `Server-Sent Events, with ?${stream.name}=true.` },
  }
}
