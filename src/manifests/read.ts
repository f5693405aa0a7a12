import secureJson from 'secure-json-parse'
import { GilgalError } from '../errors.js'
import { parseManifests } from './parse.js'
import { validateManifests, type Manifest, type WritePolicy } from './validate.js'

export type ManifestFormat = 'yaml' | 'json'

/**
 * The manifests of a request body, parsed (YAML, or JSON as Fastify's own parser reads it) and
 * validated, every document before any is used. Pure and synchronous: the API runs it on a worker
 * thread (reader.ts), tests and the command line call it directly.
 */
export function readManifests(text: string, format: ManifestFormat, policy: WritePolicy): Manifest[] {
  return validateManifests(parseManifests(format === 'yaml' ? text : parseJson(text)), policy)
}

function parseJson(text: string): unknown {
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
  } catch (error) {
    throw new GilgalError(
      'GILGAL_BAD_JSON',
      400,
      'Bad request',
      `the body is not valid JSON: ${(error as Error).message}`,
    )
  }
}
