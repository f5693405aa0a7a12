import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildArgsFor, imageTag, type BuildInputs } from './build-inputs.js'

const shop = { id: '6f1c6a3e-2b4d-4a8e-9c1f-000000000001', name: 'shop' }

const commit = 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0'
const inputs: BuildInputs = {
  dockerfile: 'FROM scratch\n',
  path: '.',
  target: null,
  buildArgs: { A: '1', B: '2' },
}

test('the tag names the project, the commit and a hash of the build inputs', () => {
  assert.match(imageTag(shop, commit, inputs), /^gilgal\/shop:a1b2c3d4e5f6-[0-9a-f]{8}$/)
})

test('the same commit and inputs give the same tag, whatever the order of build args', () => {
  const reordered = { ...inputs, buildArgs: { B: '2', A: '1' } }
  assert.equal(imageTag(shop, commit, reordered), imageTag(shop, commit, inputs))
})

test('any build input or the commit changes the tag', () => {
  const base = imageTag(shop, commit, inputs)
  const variants: BuildInputs[] = [
    { ...inputs, dockerfile: 'FROM scratch\nUSER 1\n' },
    { ...inputs, path: 'apps/web' },
    { ...inputs, target: 'runtime' },
    { ...inputs, buildArgs: { A: '1', B: '3' } },
  ]
  for (const variant of variants) assert.notEqual(imageTag(shop, commit, variant), base)
  assert.notEqual(imageTag(shop, `f${commit.slice(1)}`, inputs), base)
})

test('public env vars become build args; build.args win; private ones stay out', () => {
  const { buildArgs, fromEnv } = buildArgsFor(
    { VITE_API: 'from-args', NODE_VERSION: '20' },
    { VITE_API: 'from-env', NEXT_PUBLIC_X: 'x', REACT_APP_Y: 'y', PUBLIC_Z: 'z', DATABASE_URL: 'secret' },
  )
  assert.deepEqual(buildArgs, {
    NEXT_PUBLIC_X: 'x',
    PUBLIC_Z: 'z',
    REACT_APP_Y: 'y',
    VITE_API: 'from-args',
    NODE_VERSION: '20',
  })
  assert.deepEqual(fromEnv, ['NEXT_PUBLIC_X', 'PUBLIC_Z', 'REACT_APP_Y', 'VITE_API'])
})

test("another project's build of the same commit and inputs gets its own tag", () => {
  const namesake = { id: '6f1c6a3e-2b4d-4a8e-9c1f-000000000002', name: 'shop' }
  assert.notEqual(imageTag(namesake, commit, inputs), imageTag(shop, commit, inputs))
})
