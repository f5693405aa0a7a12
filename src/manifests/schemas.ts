import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { ValidationError, type FieldError } from '../errors.js'
import type { Kind } from '../model/kinds.js'
import type { Manifests } from '../model/specs.js'

const SCHEMA_DIR = new URL('../../manifests/schemas/', import.meta.url)
const SCHEMA_FILES = ['common', 'project', 'environment', 'deployment', 'manifest']
const SCHEMA_ID = (file: string) => `https://gilgal.dev/schemas/${file}.v1.json`

/** The schema documents, as editors and the HTTP API's OpenAPI see them. */
export const schemaDocuments: ReadonlyArray<{ $id: string }> = SCHEMA_FILES.map((file) =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`${file}.v1.json`, SCHEMA_DIR)), 'utf8')),
)

// One ajv for manifests and specs, from the files editors use. No type coercion: "3000" is not a port.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false })
for (const document of schemaDocuments) ajv.addSchema(structuredClone(document))

// The type parameter is the one claim made about validated data: the types of model/specs.ts are
// generated from these very schemas (scripts/generate-spec-types.ts), defaults included.
function compile<T>(file: string, pointer = ''): ValidateFunction<T> {
  const validate = ajv.getSchema<T>(`${SCHEMA_ID(file)}${pointer}`)
  if (!validate) throw new Error(`schema ${file}${pointer} is missing`)
  return validate
}

type Validators = { [K in Kind]: ValidateFunction<Manifests[K]> }
type SpecValidators = { [K in Kind]: ValidateFunction<Manifests[K]['spec']> }

const manifestValidators: Validators = {
  Project: compile('project'),
  Environment: compile('environment'),
  Deployment: compile('deployment'),
}
const specValidators: SpecValidators = {
  Project: compile('project', '#/definitions/spec'),
  Environment: compile('environment', '#/definitions/spec'),
  Deployment: compile('deployment', '#/definitions/spec'),
}

/**
 * Validates a whole manifest document in place (defaults are filled in) and answers it typed. Throws
 * a ValidationError whose paths are JSON pointers prefixed with `prefix` (e.g. `/documents/2`).
 */
export function validateManifest<K extends Kind>(kind: K, document: unknown, prefix = ''): Manifests[K] {
  return check(manifestValidators[kind], document, prefix, `${kind} manifest is invalid`)
}

/** Validates a spec in place (defaults filled in) and answers it typed; paths start at `/spec`. */
export function validateSpec<K extends Kind>(kind: K, spec: unknown): Manifests[K]['spec'] {
  return check(specValidators[kind], spec, '/spec', `${kind} spec is invalid`)
}

/** A spec with nothing but its defaults: what the schema promises for every field left out. */
export function specDefaults<K extends Kind>(kind: K): Manifests[K]['spec'] {
  return validateSpec(kind, {})
}

function check<T>(validate: ValidateFunction<T>, value: unknown, prefix: string, summary: string): T {
  if (validate(value)) return value
  const errors = (validate.errors ?? []).map((error) => toFieldError(error, prefix))
  throw new ValidationError(`${summary}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors)
}

function toFieldError(error: ErrorObject, prefix: string): FieldError {
  const path = `${prefix}${error.instancePath}`
  if (error.keyword === 'additionalProperties') {
    return { path: `${path}/${String(error.params.additionalProperty)}`, message: 'is not a known field' }
  }
  if (error.keyword === 'propertyNames') {
    return { path: `${path}/${String(error.params.propertyName)}`, message: 'is not a valid name' }
  }
  if (error.keyword === 'const' || error.keyword === 'enum') {
    const allowed = 'allowedValue' in error.params ? [error.params.allowedValue] : error.params.allowedValues
    return { path, message: `must be one of ${JSON.stringify(allowed)}` }
  }
  return { path, message: error.message ?? 'is invalid' }
}
