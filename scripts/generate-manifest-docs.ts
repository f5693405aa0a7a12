/**
 * Writes docs/MANIFESTS.md: the prose of docs/templates/MANIFESTS.md with the field reference of every
 * manifest kind rendered from the JSON Schemas the server validates with (src/manifests/schemas.ts
 * loads them from manifests/schemas/). `npm run docs:manifests` rewrites it; src/manifests/docs.test.ts
 * fails when it is out of date, or when a schema field has no description.
 *
 * The result goes through prettier with the repository's settings, so `npm run lint` (prettier
 * --check) accepts the generated file as it is.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import * as prettier from 'prettier'
import { schemaDocuments } from '../src/manifests/schemas.js'
import { renderManifestDocs, type Schema } from './manifest-docs.js'

export const MANIFEST_DOCS_FILE = new URL('../docs/MANIFESTS.md', import.meta.url)
export const MANIFEST_DOCS_TEMPLATE = new URL('../docs/templates/MANIFESTS.md', import.meta.url)

/** The schema documents the server validates manifests with. */
export const manifestSchemas: readonly Schema[] = schemaDocuments

/** docs/MANIFESTS.md as it should be now. */
export async function generateManifestDocs(): Promise<string> {
  const template = await readFile(MANIFEST_DOCS_TEMPLATE, 'utf8')
  const file = fileURLToPath(MANIFEST_DOCS_FILE)
  const style = (await prettier.resolveConfig(file)) ?? {}
  return prettier.format(renderManifestDocs(manifestSchemas, template), { ...style, filepath: file })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(MANIFEST_DOCS_FILE, await generateManifestDocs())
  console.log(`wrote ${fileURLToPath(MANIFEST_DOCS_FILE)}`)
}
