import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { ValidationError, type FieldError } from '../errors.js'

import { KINDS, type Kind } from '../kinds.js'

export { KINDS }
export type ManifestKind = Kind

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

function compile(file: string, pointer = ''): ValidateFunction {
  const validate = ajv.getSchema(`${SCHEMA_ID(file)}${pointer}`)
  if (!validate) throw new Error(`schema ${file}${pointer} is missing`)
  return validate
}

const manifestValidators: Record<ManifestKind, ValidateFunction> = {
  Project: compile('project'),
  Environment: compile('environment'),
  Deployment: compile('deployment'),
}
const specValidators: Record<ManifestKind, ValidateFunction> = {
  Project: compile('project', '#/definitions/spec'),
  Environment: compile('environment', '#/definitions/spec'),
  Deployment: compile('deployment', '#/definitions/spec'),
}

/**
 * Validates a whole manifest document in place (defaults are filled in). Throws a ValidationError whose
 * paths are JSON pointers prefixed with `prefix` (e.g. `documents/2`).
 */
export function validateManifest(kind: ManifestKind, document: unknown, prefix = ''): void {
  check(manifestValidators[kind], document, prefix, `${kind} manifest is invalid`)
}

/** Validates a spec in place (defaults filled in); paths start at `/spec`. */
export function validateSpec(kind: ManifestKind, spec: unknown): void {
  check(specValidators[kind], spec, '/spec', `${kind} spec is invalid`)
}

function check(validate: ValidateFunction, value: unknown, prefix: string, summary: string): void {
  if (validate(value)) return
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
