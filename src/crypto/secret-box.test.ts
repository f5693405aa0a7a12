import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseSecretKeys } from '../config/secrets.js'
import { mergeSealed, openSecret, sealSecret } from './secret-box.js'

const oldKey = parseSecretKeys(`old:${Buffer.alloc(32, 1).toString('base64')}`)
const rotated = parseSecretKeys(
  `new:${Buffer.alloc(32, 2).toString('base64')},old:${Buffer.alloc(32, 1).toString('base64')}`,
)

test('a sealed value opens with the same key and context, and never contains the plaintext', () => {
  const sealed = sealSecret('sk_live_123', oldKey, 'secretEnv:STRIPE_KEY')
  assert.match(sealed, /^gse1:old:/)
  assert.ok(!sealed.includes('sk_live_123'))
  assert.notEqual(sealSecret('sk_live_123', oldKey, 'secretEnv:STRIPE_KEY'), sealed, 'nonces differ')
  assert.equal(openSecret(sealed, oldKey, 'secretEnv:STRIPE_KEY'), 'sk_live_123')
})

test('after rotation the new key seals and the old one still opens', () => {
  const before = sealSecret('v', oldKey, 'c')
  assert.equal(openSecret(before, rotated, 'c'), 'v')
  assert.match(sealSecret('v', rotated, 'c'), /^gse1:new:/)
})

test('another context, a tampered value or a dropped key cannot open it', () => {
  const sealed = sealSecret('v', rotated, 'secretEnv:A')
  assert.throws(() => openSecret(sealed, rotated, 'secretEnv:B'), { code: 'GILGAL_SECRET_UNREADABLE' })
  const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA')
  assert.throws(() => openSecret(tampered, rotated, 'secretEnv:A'), { code: 'GILGAL_SECRET_UNREADABLE' })
  assert.throws(() => openSecret(sealed, oldKey, 'secretEnv:A'), /no longer lists/)
})

test('merging: a string sets, null removes, absent keeps, and an unchanged value keeps its sealed form', () => {
  const context = (name: string) => `secretEnv:${name}`
  const stored = {
    KEEP: sealSecret('k', oldKey, context('KEEP')),
    SAME: sealSecret('s', oldKey, context('SAME')),
  }
  const merged = mergeSealed(
    { ...stored, DROP: sealSecret('d', oldKey, context('DROP')) },
    { SAME: 's', DROP: null, NEW: 'n' },
    oldKey,
    context,
  )
  assert.deepEqual(Object.keys(merged).sort(), ['KEEP', 'NEW', 'SAME'])
  assert.equal(merged.KEEP, stored.KEEP)
  assert.equal(merged.SAME, stored.SAME)
  assert.equal(openSecret(merged.NEW!, oldKey, context('NEW')), 'n')
  assert.deepEqual(mergeSealed(stored, undefined, oldKey, context), stored)
})
