import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ValidationError } from '../errors.js'
import { diffSpecs } from './diff.js'
import { parseManifests } from './parse.js'
import { assertPlainData } from './shape.js'

test('YAML streams become documents; empty ones are skipped', () => {
  const documents = parseManifests(
    'kind: Project\nmetadata: {name: a}\n---\n---\nkind: Project\nmetadata: {name: b}\n',
  )
  assert.deepEqual(documents, [
    { kind: 'Project', metadata: { name: 'a' } },
    { kind: 'Project', metadata: { name: 'b' } },
  ])
  assert.deepEqual(parseManifests([{ kind: 'Project' }]), [{ kind: 'Project' }])
  assert.deepEqual(parseManifests({ kind: 'Project' }), [{ kind: 'Project' }])
})

test('a syntax error names the document, line and column', () => {
  assert.throws(
    () => parseManifests('kind: Project\n---\nkind: [unclosed\n'),
    (error: unknown) =>
      error instanceof ValidationError &&
      /^document 1 is not valid YAML at line \d+, column \d+/.test(error.message),
  )
  assert.throws(() => parseManifests('a: 1\na: 2\n'), /not valid YAML/, 'duplicate keys are refused')
})

test('an alias bomb is refused quickly', () => {
  // Nine levels of nine aliases each: 9^9 strings if expanded.
  const lines = ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]']
  for (let level = 1; level <= 9; level++) {
    lines.push(
      `l${level}: &l${level} [${Array(9)
        .fill(`*l${level - 1}`)
        .join(', ')}]`,
    )
  }
  const started = performance.now()
  assert.throws(() => parseManifests(lines.join('\n')), /too many aliases/)
  assert.ok(performance.now() - started < 1000)
})

test('diffs name each changed field; secret values are never shown', () => {
  const changes = diffSpecs(
    { replicas: 1, env: { A: '1', B: '2' }, secretEnv: { KEY: 'gse1:old' }, domains: ['a.com'] },
    {
      replicas: 2,
      env: { A: '1', C: '3' },
      secretEnv: { KEY: 'gse1:new', NEW: 'gse1:x' },
      domains: ['a.com'],
    },
    ['/spec/secretEnv'],
  )
  assert.deepEqual(changes, [
    { path: '/spec/replicas', op: 'replace', before: 1, after: 2 },
    { path: '/spec/env/B', op: 'remove', before: '2' },
    { path: '/spec/env/C', op: 'add', after: '3' },
    { path: '/spec/secretEnv/KEY', op: 'replace', secret: true },
    { path: '/spec/secretEnv/NEW', op: 'add', secret: true },
  ])
  assert.deepEqual(diffSpecs({ a: 1 }, { a: 1 }), [])
})

test('a repeated key is found among many in one pass; keys must be plain values', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `  k${i}: v`)
  keys.push('  k17: again')
  assert.throws(
    () => parseManifests(`kind: Project\nlabels:\n${keys.join('\n')}\n`),
    (error: unknown) =>
      error instanceof ValidationError &&
      /the key "k17" appears twice/.test(error.message) &&
      error.code === 'GILGAL_BAD_YAML',
  )
  assert.throws(() => parseManifests('? [a, b]\n: c\n'), /a key must be a plain value/)
})

test('nesting deeper than 32 levels is refused, in YAML and in data, without exhausting the stack', () => {
  assert.throws(
    () => parseManifests(`a: ${'['.repeat(40)}${']'.repeat(40)}\n`),
    /nested deeper than 32 levels/,
  )
  let deep: unknown = {}
  for (let i = 0; i < 200_000; i++) deep = { a: deep }
  assert.throws(() => assertPlainData(deep, '/documents/0'), /nested deeper than 32 levels/)
  assert.doesNotThrow(() => parseManifests(`a: ${'['.repeat(30)}${']'.repeat(30)}\n`))
})

test('a request holds at most 100,000 keys and items in all', () => {
  const items = Array.from({ length: 60_000 }, () => '- x').join('\n')
  assert.throws(
    () => parseManifests(`a:\n${items}\n---\nb:\n${items}\n`),
    /hold more than 100000 keys and items in all/,
  )
  assert.equal(parseManifests(`a:\n${items}\n`).length, 1)
})
