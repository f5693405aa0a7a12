/**
 * The field reference of docs/MANIFESTS.md, rendered from the manifest JSON Schemas
 * (manifests/schemas/). Pure: schema documents and the hand-written template in, markdown out; the
 * caller (scripts/generate-manifest-docs.ts) reads the files and formats the result.
 *
 * Each kind's manifest is walked depth first, in the schema's own order: one row per property, with
 * its dotted path (`[]` for the items of a list), type, whether it is required, its default, the
 * constraints the schema states, and its `description`. A `$ref` is followed; keywords beside it
 * (description, default) win over the definition's.
 */

/** A JSON Schema (sub)document, as the files hold it. */
export type Schema = { readonly [keyword: string]: unknown }

/** One row of the reference: a property of a manifest. */
export interface ManifestField {
  /** Dotted, from the document's root: `spec.healthCheck.http.path`, `spec.registries[].server`. */
  path: string
  type: string
  required: boolean
  /** The default validation fills in; absent when there is none. */
  default?: unknown
  constraints: string[]
  description: string | undefined
}

/** The kinds the reference covers, in the order it lists them. */
export const MANIFEST_KINDS = [
  { kind: 'Project', id: 'https://gilgal.dev/schemas/project.v1.json' },
  { kind: 'Environment', id: 'https://gilgal.dev/schemas/environment.v1.json' },
  { kind: 'Deployment', id: 'https://gilgal.dev/schemas/deployment.v1.json' },
] as const

/** Where the template wants the generated reference. */
export const REFERENCE_MARKER = '<!-- field reference -->'

const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** A schema with its `$ref` followed, and the document id its own `$ref`s resolve against. */
interface Resolved {
  schema: Schema
  base: string
}

class SchemaSet {
  private readonly byId = new Map<string, Schema>()

  constructor(documents: readonly Schema[]) {
    for (const document of documents) {
      if (typeof document.$id !== 'string') throw new Error('a schema document has no $id')
      this.byId.set(document.$id, document)
    }
  }

  document(id: string): Schema {
    const document = this.byId.get(id)
    if (!document) throw new Error(`no schema document ${id}`)
    return document
  }

  /** Follows `$ref`s (relative to `base`); the referring schema's other keywords override the target's. */
  resolve(schema: Schema, base: string): Resolved {
    if (typeof schema.$ref !== 'string') return { schema, base }
    const url = new URL(schema.$ref, base)
    const id = `${url.origin}${url.pathname}`
    let target: unknown = this.document(id)
    for (const token of url.hash.replace(/^#\/?/, '').split('/').filter(Boolean)) {
      target = isSchema(target)
        ? target[decodeURIComponent(token).replace(/~1/g, '/').replace(/~0/g, '~')]
        : undefined
    }
    if (!isSchema(target)) throw new Error(`${schema.$ref} (from ${base}) names nothing`)
    const resolved = this.resolve(target, id)
    const { $ref: _ref, ...siblings } = schema
    return { schema: { ...resolved.schema, ...siblings }, base: resolved.base }
  }
}

/** Every property of one kind's manifest, depth first in schema order. */
export function manifestFields(documents: readonly Schema[], id: string): ManifestField[] {
  const schemas = new SchemaSet(documents)
  const fields: ManifestField[] = []
  walk(schemas, { schema: schemas.document(id), base: id }, '', fields)
  return fields
}

function walk(schemas: SchemaSet, parent: Resolved, path: string, fields: ManifestField[]): void {
  const { schema, base } = parent
  const properties = isSchema(schema.properties) ? schema.properties : {}
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : []
  const dependencies = isSchema(schema.dependencies) ? schema.dependencies : {}
  for (const [name, child] of Object.entries(properties)) {
    if (!isSchema(child)) continue
    const resolved = schemas.resolve(child, base)
    const childPath = path ? `${path}.${name}` : name
    const needs = dependencies[name]
    const constraints = [
      ...constraintsOf(schemas, resolved),
      ...(Array.isArray(needs) ? [`needs ${needs.map((n) => code(String(n))).join(', ')} beside it`] : []),
    ]
    fields.push({
      path: childPath,
      type: typeOf(schemas, resolved),
      required: required.includes(name),
      ...('default' in resolved.schema ? { default: resolved.schema.default } : {}),
      constraints,
      description: typeof resolved.schema.description === 'string' ? resolved.schema.description : undefined,
    })
    walk(schemas, resolved, childPath, fields)
    const items = itemsOf(schemas, resolved)
    if (items && isSchema(items.schema.properties)) walk(schemas, items, `${childPath}[]`, fields)
  }
}

function itemsOf(schemas: SchemaSet, { schema, base }: Resolved): Resolved | undefined {
  return isSchema(schema.items) ? schemas.resolve(schema.items, base) : undefined
}

/** The schema's values map, when it is one: an object whose other properties are all alike. */
function valuesOf(schemas: SchemaSet, { schema, base }: Resolved): Resolved | undefined {
  return isSchema(schema.additionalProperties)
    ? schemas.resolve(schema.additionalProperties, base)
    : undefined
}

function typeOf(schemas: SchemaSet, resolved: Resolved): string {
  const { schema } = resolved
  if ('const' in schema) return typeof schema.const
  if (Array.isArray(schema.enum)) return [...new Set(schema.enum.map((value) => typeof value))].join(' or ')
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type ?? 'object']
  return types
    .map((type) => {
      if (type === 'array') {
        const items = itemsOf(schemas, resolved)
        return items ? `list of ${typeOf(schemas, items)}` : 'list'
      }
      if (type !== 'object') return String(type)
      const values = valuesOf(schemas, resolved)
      return values && !isSchema(schema.properties) ? `map of ${typeOf(schemas, values)}` : 'object'
    })
    .join(' or ')
}

/** What the schema allows, in words; `additionalProperties: false` is said once, in the intro. */
function constraintsOf(schemas: SchemaSet, resolved: Resolved): string[] {
  const { schema } = resolved
  const out: string[] = []
  if ('const' in schema) out.push(`always ${code(value(schema.const))}`)
  if (Array.isArray(schema.enum)) out.push(`one of ${schema.enum.map((v) => code(value(v))).join(', ')}`)
  const range = (min: unknown, max: unknown, [one, many]: [string, string]) => {
    const noun = (n: unknown) => `${String(n)} ${n === 1 ? one : many}`
    if (typeof min === 'number' && typeof max === 'number')
      out.push(min === max ? `exactly ${noun(max)}` : `${min} to ${noun(max)}`)
    else if (typeof min === 'number') out.push(`at least ${noun(min)}`)
    else if (typeof max === 'number') out.push(`at most ${noun(max)}`)
  }
  range(schema.minLength, schema.maxLength, ['character', 'characters'])
  const numbers: string[] = []
  if (typeof schema.minimum === 'number') numbers.push(`at least ${schema.minimum}`)
  if (typeof schema.exclusiveMinimum === 'number') numbers.push(`more than ${schema.exclusiveMinimum}`)
  if (typeof schema.maximum === 'number') numbers.push(`at most ${schema.maximum}`)
  if (typeof schema.exclusiveMaximum === 'number') numbers.push(`less than ${schema.exclusiveMaximum}`)
  if (numbers.length > 0) out.push(numbers.join(', '))
  if (typeof schema.pattern === 'string') out.push(`pattern ${code(schema.pattern)}`)
  range(schema.minItems, schema.maxItems, ['item', 'items'])
  if (schema.uniqueItems === true) out.push('no duplicates')
  const properties = isSchema(schema.properties) ? Object.keys(schema.properties) : []
  if (schema.minProperties === 1 && schema.maxProperties === 1 && properties.length > 0) {
    out.push(`exactly one of ${properties.map(code).join(', ')}`)
  } else {
    range(schema.minProperties, schema.maxProperties, ['entry', 'entries'])
  }
  if (isSchema(schema.propertyNames)) {
    const names = constraintsOf(schemas, schemas.resolve(schema.propertyNames, resolved.base))
    if (names.length > 0) out.push(`names: ${names.join(', ')}`)
  }
  const values = valuesOf(schemas, resolved)
  if (values) {
    const each = constraintsOf(schemas, values)
    if (each.length > 0) out.push(`values: ${each.join(', ')}`)
  }
  const items = itemsOf(schemas, resolved)
  if (items && !isSchema(items.schema.properties)) {
    const each = constraintsOf(schemas, items)
    if (each.length > 0) out.push(`each: ${each.join(', ')}`)
  }
  return out
}

/** How a value is written in a manifest: strings bare, everything else as JSON. */
function value(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/** A code span that survives any backticks in `text`. */
function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`'
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

/** A table cell: one line, and a `|` that does not end the cell (GitHub reads `\|` even in code). */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|')
}

/** One kind's fields as a markdown table. */
export function renderFieldTable(fields: readonly ManifestField[]): string {
  const rows = fields.map((field) =>
    [
      code(field.path),
      field.type,
      field.required ? 'yes' : '',
      'default' in field ? code(value(field.default)) : '',
      field.constraints.join('; '),
      field.description ?? '',
    ].map(cell),
  )
  const header = ['Field', 'Type', 'Required', 'Default', 'Constraints', 'Description']
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n')
}

/** The reference of every kind: a section each, its schema's description, and its table. */
export function renderReference(documents: readonly Schema[]): string {
  const schemas = new SchemaSet(documents)
  return MANIFEST_KINDS.map(({ kind, id }) => {
    const document = schemas.document(id)
    const file = id.slice(id.lastIndexOf('/') + 1)
    const about = typeof document.description === 'string' ? `${document.description}\n\n` : ''
    const source = `Schema: [\`manifests/schemas/${file}\`](../manifests/schemas/${file}).\n\n`
    return `### ${kind}\n\n${about}${source}${renderFieldTable(manifestFields(documents, id))}\n`
  }).join('\n')
}

/**
 * docs/MANIFESTS.md: the template with the generated reference in place of its marker. Unformatted:
 * the caller runs it through prettier, as `npm run lint` checks every markdown file.
 */
export function renderManifestDocs(documents: readonly Schema[], template: string): string {
  const parts = template.split(REFERENCE_MARKER)
  if (parts.length !== 2) throw new Error(`the template must hold ${REFERENCE_MARKER} exactly once`)
  return `${parts[0]}${renderReference(documents)}${parts[1]}`
}

/** Every property name any schema document declares, wherever it is: what the reference must show. */
export function declaredPropertyNames(documents: readonly Schema[]): Set<string> {
  const names = new Set<string>()
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit)
    if (!isSchema(node)) return
    if (isSchema(node.properties)) for (const name of Object.keys(node.properties)) names.add(name)
    Object.values(node).forEach(visit)
  }
  documents.forEach(visit)
  return names
}
