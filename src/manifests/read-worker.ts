// Runs in a worker thread (piscina): a large request takes about a second to parse and validate,
// which on the event loop would stall every other request.
import { GilgalError, ValidationError, type FieldError } from '../errors.js'
import { readManifests, type ManifestFormat } from './read.js'
import type { Manifest, WritePolicy } from './validate.js'

export interface ReadTask {
  text: string
  format: ManifestFormat
  policy: WritePolicy
}

/** A refusal travels as data: errors lose their class crossing threads. */
export interface Refusal {
  code: string
  status: number
  title: string
  message: string
  errors?: FieldError[]
}

export type ReadResult = { manifests: Manifest[] } | { refused: Refusal }

export default function run({ text, format, policy }: ReadTask): ReadResult {
  try {
    return { manifests: readManifests(text, format, policy) }
  } catch (error) {
    if (!(error instanceof GilgalError) || error.status >= 500) throw error
    const errors = error instanceof ValidationError ? { errors: error.errors } : {}
    return {
      refused: {
        code: error.code,
        status: error.status,
        title: error.title,
        message: error.message,
        ...errors,
      },
    }
  }
}
