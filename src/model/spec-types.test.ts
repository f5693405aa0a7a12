import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { GENERATED_FILE, generateSpecTypes } from '../../scripts/generate-spec-types.js'

test('the spec types are generated from the JSON Schemas as they are now (npm run generate)', async () => {
  const committed = await readFile(GENERATED_FILE, 'utf8')
  assert.equal(committed, await generateSpecTypes(), 'src/model/spec-types.generated.ts is out of date')
})
