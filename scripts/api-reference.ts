/**
 * The operations part of docs/API.md, rendered from the OpenAPI document. Pure: document and
 * examples in, markdown out. Per tag, in the document's order: each operation's method and path,
 * summary, description, authentication, parameters, the top-level fields of its body, its responses
 * and a curl example. Schemas beyond the top level are linked into openapi.json, where they live.
 */
import { EXAMPLE_BODIES, pathValue, type ExampleBody } from './api-examples.js'

export type Json = { [key: string]: unknown }
export type Document = Json & { paths: Record<string, Record<string, Json>>; tags: Json[] }

export interface Operation {
  method: string
  path: string
  tag: string
  spec: Json
}

const SCHEMAS = '#/components/schemas/'
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Every operation, in the document's order. */
export function operationsOf(document: Document): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, spec]) => ({
      method: method.toUpperCase(),
      path,
      tag: ((spec.tags as string[] | undefined) ?? ['other'])[0]!,
      spec,
    })),
  )
}

/** The heading's anchor, as GitHub makes it. */
export const anchorOf = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-')

const headingOf = (operation: Operation) => `${operation.method} ${operation.path}`
const oneLine = (text: unknown) =>
  String(text ?? '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')

export function schemaLink(ref: string): string {
  const name = ref.slice(SCHEMAS.length)
  return `[${name}](openapi.json${ref})`
}

/** A schema in a few words: `string (uuid)`, `array of [Project](…)`, `` `read` or `write` ``. */
export function typeOf(schema: unknown): string {
  if (!isObject(schema)) return 'any'
  if (typeof schema.$ref === 'string') return schemaLink(schema.$ref)
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => `\`${String(value)}\``).join(' or ')
  if (Array.isArray(schema.oneOf)) return schema.oneOf.map(typeOf).join(' or ')
  const types = [schema.type ?? (schema.properties ? 'object' : 'any')].flat() as string[]
  return types
    .map((type) => {
      if (type === 'array') return `array of ${typeOf(schema.items)}`
      if (type === 'object' && isObject(schema.additionalProperties))
        return `map of ${typeOf(schema.additionalProperties)}`
      return typeof schema.format === 'string' && type !== 'null' ? `${type} (${schema.format})` : type
    })
    .join(' or ')
}

function describe(schema: Json, description?: unknown): string {
  const text = oneLine(description ?? schema.description)
  const fallback = schema.default === undefined ? '' : `Default: \`${JSON.stringify(schema.default)}\`.`
  return [text, fallback].filter(Boolean).join(' ')
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

function authenticationOf(operation: Operation): string {
  const security = operation.spec.security as Record<string, string[]>[] | undefined
  if (!security || security.length === 0) return 'none.'
  const accepted = security.map((requirement) => {
    const [scheme, roles] = Object.entries(requirement)[0]!
    if (scheme === 'apiKey') return `an API key with scope \`${roles!.join('`, `')}\``
    return 'an access token'
  })
  const sessionOnly = accepted.length === 1 ? ' (a login session: API keys are refused)' : ''
  return `${accepted.join(', or ')}${sessionOnly}.`
}

function parametersOf(operation: Operation): string | undefined {
  const parameters = (operation.spec.parameters ?? []) as Json[]
  if (parameters.length === 0) return undefined
  const sorted = [...parameters].sort((a, b) => Number(a.in !== 'path') - Number(b.in !== 'path'))
  const rows = sorted.map((p) => [
    `\`${String(p.name)}\``,
    String(p.in),
    typeOf(p.schema),
    p.required ? 'yes' : 'no',
    describe(p.schema as Json, p.description),
  ])
  return `**Parameters**\n\n${table(['Name', 'In', 'Type', 'Required', 'Description'], rows)}`
}

function bodyOf(operation: Operation, components: Json): string | undefined {
  const body = operation.spec.requestBody as { content: Record<string, { schema: Json }> } | undefined
  if (!body) return undefined
  const media = Object.entries(body.content)
  const kinds = media.map(([type, { schema }]) => `\`${type}\`: ${typeOf(schema)}`).join('; ')
  const [, only] = media.length === 1 ? media[0]! : []
  const schema = only && resolve(only.schema, components)
  if (!schema || !isObject(schema.properties)) return `**Request body**: ${kinds}.`
  const required = new Set((schema.required ?? []) as string[])
  const rows = Object.entries(schema.properties as Record<string, Json>).map(([name, field]) => [
    `\`${name}\``,
    typeOf(field),
    required.has(name) ? 'yes' : 'no',
    describe(resolve(field, components), field.description),
  ])
  return `**Request body** (${kinds})\n\n${table(['Field', 'Type', 'Required', 'Description'], rows)}`
}

/** The schema a `$ref` names, for its description and fields. */
function resolve(schema: Json, components: Json): Json {
  if (typeof schema.$ref !== 'string') return schema
  return ((components.schemas as Json)[schema.$ref.slice(SCHEMAS.length)] ?? schema) as Json
}

/** The answers, and the statuses of its problems in one line (their meaning is in the introduction). */
function responsesOf(operation: Operation): string {
  const responses = operation.spec.responses as Record<string, { description: string; content?: Json }>
  const isProblem = (response: { content?: Json }) => Boolean(response.content?.['application/problem+json'])
  const problems = Object.keys(responses).filter((status) => isProblem(responses[status]!))
  const answers = Object.entries(responses).filter(([, response]) => !isProblem(response))
  const rows = answers.map(([status, response]) => {
    const content = Object.entries(response.content ?? {}) as [string, { schema: Json }][]
    const bodies = content.map(([type, { schema }]) => {
      const named = typeof schema.$ref === 'string' || type === 'application/json'
      return named ? `${typeOf(schema)} (\`${type}\`)` : `\`${type}\``
    })
    return [status, bodies.join(', ') || '—', oneLine(response.description)]
  })
  const errors = problems.length ? `\n\n**Errors** ([problem+json](#errors)): ${problems.join(', ')}.` : ''
  return `**Responses**\n\n${table(['Status', 'Body', 'Description'], rows)}${errors}`
}

/** A curl command for the operation, with its example body; a second one for its stream, if any. */
export function curlOf(operation: Operation): string {
  const { method, spec } = operation
  const url = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => pathValue(operation.tag, name))
  const isPublic = (spec.security as unknown[] | undefined)?.length === 0
  const auth = isPublic ? [] : [`-H "Authorization: Bearer $TOKEN"`]
  const body = spec.requestBody ? EXAMPLE_BODIES[String(spec.operationId)] : undefined
  if (spec.requestBody && !body)
    throw new Error(`${headingOf(operation)} has no example body (api-examples.ts)`)
  const lines = [
    `curl${method === 'GET' ? '' : ` -X ${method}`} "$GILGAL_URL${url}"`,
    ...auth,
    ...(body ? bodyOptions(body) : []),
  ]
  const command = lines.join(' \\\n  ') + (body ? `\n${bodyText(body)}EOF` : '')
  const stream = ((spec.parameters ?? []) as Json[]).find((p) => p.name === 'watch' || p.name === 'follow')
  if (!stream) return command
  return `${command}\n\n# as Server-Sent Events, until you stop it\ncurl -N "$GILGAL_URL${url}?${String(stream.name)}=true" ${auth.join(' ')}`
}

function bodyOptions(body: ExampleBody): string[] {
  const type = 'yaml' in body ? 'application/yaml' : 'application/json'
  return [`-H 'Content-Type: ${type}'`, '--data-binary @- <<EOF']
}

function bodyText(body: ExampleBody): string {
  return 'yaml' in body ? body.yaml : `${compactJson(body.json)}\n`
}

/** JSON as a person writes it: a value that fits on a line stays on one. */
export function compactJson(value: unknown, indent = ''): string {
  const inline = (item: unknown): string => {
    if (Array.isArray(item)) return `[${item.map(inline).join(', ')}]`
    if (!isObject(item)) return JSON.stringify(item)
    const entries = Object.entries(item).map(([key, v]) => `${JSON.stringify(key)}: ${inline(v)}`)
    return entries.length ? `{ ${entries.join(', ')} }` : '{}'
  }
  const flat = inline(value)
  if (indent.length + flat.length <= 80 || (!isObject(value) && !Array.isArray(value))) return flat
  const inner = `${indent}  `
  if (Array.isArray(value))
    return `[\n${value.map((v) => inner + compactJson(v, inner)).join(',\n')}\n${indent}]`
  const entries = Object.entries(value).map(
    ([k, v]) => `${inner}${JSON.stringify(k)}: ${compactJson(v, inner)}`,
  )
  return `{\n${entries.join(',\n')}\n${indent}}`
}

function renderOperation(operation: Operation, components: Json): string {
  const { spec } = operation
  return [
    `### ${headingOf(operation)}`,
    `**${oneLine(spec.summary)}.**`,
    spec.description ? String(spec.description) : undefined,
    `**Authentication**: ${authenticationOf(operation)}`,
    parametersOf(operation),
    bodyOf(operation, components),
    responsesOf(operation),
    `**Example**\n\n\`\`\`sh\n${curlOf(operation)}\n\`\`\``,
  ]
    .filter(Boolean)
    .join('\n\n')
}

/** Per tag: a heading, its description, its operations. */
export function renderOperations(document: Document): string {
  const operations = operationsOf(document)
  const untagged = operations.filter((operation) => !document.tags.some((tag) => tag.name === operation.tag))
  if (untagged.length > 0)
    throw new Error(`${headingOf(untagged[0]!)}: its tag is not in the document's tags`)
  return document.tags
    .map((tag) => {
      const ofTag = operations.filter((operation) => operation.tag === tag.name)
      const body = ofTag.map((operation) => renderOperation(operation, document.components as Json))
      return [`## ${String(tag.name)}`, String(tag.description), ...body].join('\n\n')
    })
    .join('\n\n')
}

/** The contents: one line per operation, linked to its section. */
export function renderContents(document: Document): string {
  const tags = document.tags.map((tag) => tag.name)
  const byTag = operationsOf(document).sort((a, b) => tags.indexOf(a.tag) - tags.indexOf(b.tag))
  const rows = byTag.map((operation) => {
    const heading = headingOf(operation)
    return [`[\`${heading}\`](#${anchorOf(heading)})`, operation.tag, oneLine(operation.spec.summary)]
  })
  return table(['Operation', 'Tag', 'Summary'], rows)
}
