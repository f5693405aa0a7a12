import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isLocalSourceInside } from './git.js'

test('only a local source really inside the root counts as inside it', () => {
  const root = '/var/lib/gilgal/repositories'
  assert.equal(isLocalSourceInside('file:///var/lib/gilgal/repositories/demo-shop', root), true)
  assert.equal(isLocalSourceInside('/var/lib/gilgal/repositories/demo-shop', root), true)
  assert.equal(isLocalSourceInside('file:///var/lib/gilgal/repositories', root), false, 'the root itself')
  assert.equal(isLocalSourceInside('file:///var/lib/gilgal/repositories-other/x', root), false, 'a sibling')
  assert.equal(isLocalSourceInside('file:///var/lib/gilgal/repositories/../secrets', root), false)
  assert.equal(isLocalSourceInside('https://example.com/var/lib/gilgal/repositories/x', root), false)
})
