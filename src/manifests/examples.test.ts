import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { validateManifests } from '../resources/apply.js'
import { parseManifests } from './parse.js'

const dir = new URL('../../manifests/examples/', import.meta.url)

test('every example manifest is valid', async () => {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.yaml'))
  assert.ok(files.length >= 5, files.join(', '))
  for (const file of files) {
    const manifests = validateManifests(parseManifests(await readFile(new URL(file, dir), 'utf8')))
    assert.ok(manifests.length >= 2, file)
  }
})
