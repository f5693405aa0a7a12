import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import {
  generateManifestDocs,
  MANIFEST_DOCS_FILE,
  manifestSchemas,
} from '../../scripts/generate-manifest-docs.js'
import { declaredPropertyNames, MANIFEST_KINDS, manifestFields } from '../../scripts/manifest-docs.js'
import { parseConfig } from '../config/index.js'
import { parseManifests } from './parse.js'
import { validateManifests, writePolicyOf } from './validate.js'

const committed = () => readFile(MANIFEST_DOCS_FILE, 'utf8')

test('docs/MANIFESTS.md is generated from the schemas as they are now', async () => {
  assert.ok(
    (await committed()) === (await generateManifestDocs()),
    'docs/MANIFESTS.md is out of date: run npm run docs:manifests',
  )
})

test('every field of every schema is in the reference, with a description', async () => {
  const document = await committed()
  // The paths of the reference's rows, read from the committed file, not from the renderer.
  const rows = [...document.matchAll(/^\| `([^`]+)` +\|/gm)].map((match) => match[1]!)
  const shown = new Set(rows.map((path) => path.split('.').at(-1)!.replace(/\[\]$/, '')))
  const missing = [...declaredPropertyNames(manifestSchemas)].filter((name) => !shown.has(name))
  assert.deepEqual(missing, [], `fields missing from docs/MANIFESTS.md: run npm run docs:manifests`)

  const undescribed = MANIFEST_KINDS.flatMap(({ kind, id }) =>
    manifestFields(manifestSchemas, id)
      .filter((field) => !field.description?.trim())
      .map((field) => `${kind} ${field.path}`),
  )
  assert.deepEqual(undescribed, [], 'give these fields a description in manifests/schemas/')
})

test('the examples of docs/MANIFESTS.md are valid manifests', async () => {
  const blocks = [...(await committed()).matchAll(/^```yaml\n([\s\S]*?)^```$/gm)]
    .map((match) => match[1]!)
    .filter((block) => block.includes('apiVersion: gilgal.dev/v1') && block.includes('\n---\n'))
  assert.ok(blocks.length >= 2, `expected the two whole examples, found ${blocks.length}`)
  const policy = writePolicyOf(false, parseConfig({}).limits)
  for (const block of blocks) assert.ok(validateManifests(parseManifests(block), policy).length >= 2)
})
