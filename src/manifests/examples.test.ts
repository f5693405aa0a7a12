import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { parseConfig } from '../config/index.js'
import { validateManifests, writePolicyOf } from './validate.js'
import { parseManifests } from './parse.js'

const dir = new URL('../../manifests/examples/', import.meta.url)

test('every example manifest is valid', async () => {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.yaml'))
  assert.ok(files.length >= 5, files.join(', '))
  for (const file of files) {
    const manifests = validateManifests(
      parseManifests(await readFile(new URL(file, dir), 'utf8')),
      writePolicyOf(false, parseConfig({}).limits),
    )
    assert.ok(manifests.length >= 2, file)
  }
})

test('the editor schema (manifest.v1.json) accepts the examples and refuses an unknown field', async () => {
  const { Ajv } = await import('ajv')
  const { schemaDocuments } = await import('./schemas.js')
  const ajv = new Ajv({ strict: false })
  for (const document of schemaDocuments) ajv.addSchema(structuredClone(document))
  const validate = ajv.getSchema('https://gilgal.dev/schemas/manifest.v1.json')!
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml'))) {
    for (const document of parseManifests(await readFile(new URL(file, dir), 'utf8'))) {
      assert.ok(validate(document), `${file}: ${JSON.stringify(validate.errors)}`)
    }
  }
  assert.equal(
    validate({ apiVersion: 'gilgal.dev/v1', kind: 'Project', metadata: { name: 'x' }, spec: { nope: 1 } }),
    false,
  )
  assert.equal(validate({ apiVersion: 'gilgal.dev/v1', kind: 'Pod', metadata: { name: 'x' } }), false)
})
