import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ValidationError } from '../errors.js'
import { validateManifest, validateSpec } from './schemas.js'

function fieldErrors(run: () => void): Array<{ path: string; message: string }> {
  try {
    run()
  } catch (error) {
    assert.ok(error instanceof ValidationError)
    return error.errors
  }
  assert.fail('expected a ValidationError')
}

describe('environment spec', () => {
  test('an empty spec gets every default, nested ones included', () => {
    const spec = {}
    validateSpec('Environment', spec)
    assert.deepEqual(spec, {
      build: { dockerfile: 'Dockerfile', args: {}, target: null },
      env: {},
      command: null,
      user: null,
      replicas: 1,
      resources: { memory: '512Mi', cpus: 0.5 },
      domains: [],
      healthCheck: {
        intervalSeconds: 2,
        timeoutSeconds: 2,
        healthyThreshold: 1,
        failureThreshold: 3,
        startPeriodSeconds: 0,
      },
      rollout: {
        strategy: 'StartFirst',
        progressDeadlineSeconds: 120,
        autoRollback: true,
        drainSeconds: 5,
        monitorSeconds: 30,
        revisionHistoryLimit: 10,
      },
      paused: false,
    })
  })

  test('unknown fields, bad env names and hostile sources are named by path', () => {
    const errors = fieldErrors(() =>
      validateSpec('Environment', {
        privileged: true,
        env: { 'BAD-NAME': 'x', GOOD_NAME: 'y' },
        source: { git: { url: '--upload-pack=evil', ref: '-x' } },
        port: '3000',
      }),
    )
    const paths = errors.map((e) => e.path)
    for (const expected of [
      '/spec/privileged',
      '/spec/env/BAD-NAME',
      '/spec/source/git/url',
      '/spec/source/git/ref',
      '/spec/port',
    ]) {
      assert.ok(paths.includes(expected), `${expected} in ${JSON.stringify(paths)}`)
    }
  })

  test('placement constraints are Swarm expressions on node and engine fields, nothing else', () => {
    const constraints = ['node.labels.zone==eu-1', 'node.role != manager', 'engine.labels.gpu==true']
    const spec = { placement: { constraints } }
    validateSpec('Environment', spec)
    assert.deepEqual(spec.placement, { constraints })
    for (const bad of [
      'node.role==boss',
      'zone==eu',
      'node.labels.zone=eu',
      'node.id==a b',
      'node.hostname==$(x)',
    ]) {
      const errors = fieldErrors(() => validateSpec('Environment', { placement: { constraints: [bad] } }))
      assert.deepEqual(
        errors.map((e) => e.path),
        ['/spec/placement/constraints/0'],
        bad,
      )
    }
    const unknown = fieldErrors(() => validateSpec('Environment', { placement: { spread: 'node.id' } }))
    assert.deepEqual(
      unknown.map((e) => e.path),
      ['/spec/placement/spread'],
    )
  })

  test('git URLs: https, ssh and scp-like are accepted; ext:: and option-like are not', () => {
    for (const url of [
      'https://github.com/acme/shop.git',
      'ssh://git@host/acme/shop.git',
      'git@github.com:acme/shop.git',
    ]) {
      validateSpec('Environment', { source: { git: { url } } })
    }
    for (const url of [
      'ext::sh -c touch% /tmp/pwned',
      '-oProxyCommand=x',
      'http://insecure/x',
      'git@host:-x',
    ]) {
      assert.ok(fieldErrors(() => validateSpec('Environment', { source: { git: { url } } })).length > 0, url)
    }
  })

  test('refs and paths cannot escape', () => {
    for (const ref of ['main', 'v1.2.3', 'feature/x', 'a'.repeat(40)])
      validateSpec('Environment', { source: { git: { ref } } })
    for (const ref of ['-x', 'a..b', '/main', 'main/', 'x.lock', 'a b']) {
      assert.ok(fieldErrors(() => validateSpec('Environment', { source: { git: { ref } } })).length > 0, ref)
    }
    for (const path of ['../x', 'a/../../b', '/etc', '..']) {
      assert.ok(
        fieldErrors(() => validateSpec('Environment', { source: { git: { path } } })).length > 0,
        path,
      )
    }
  })

  test('a source is git or image, not both', () => {
    const errors = fieldErrors(() => validateSpec('Environment', { source: { git: {}, image: 'nginx:1' } }))
    assert.deepEqual(
      errors.map((e) => e.path),
      ['/spec/source'],
    )
  })
})

describe('manifests', () => {
  test('apiVersion and kind are checked', () => {
    const errors = fieldErrors(() =>
      validateManifest(
        'Project',
        { apiVersion: 'v1', kind: 'Project', metadata: { name: 'shop' } },
        '/documents/0',
      ),
    )
    assert.deepEqual(errors, [
      { path: '/documents/0/apiVersion', message: 'must be one of ["gilgal.dev/v1"]' },
    ])
  })

  test('names must be DNS labels without a double dash', () => {
    for (const name of ['Shop', 'a--b', '-a', 'a_b', 'x'.repeat(41)]) {
      const manifest = { apiVersion: 'gilgal.dev/v1', kind: 'Project', metadata: { name } }
      assert.deepEqual(
        fieldErrors(() => validateManifest('Project', manifest)).map((e) => e.path),
        ['/metadata/name'],
        name,
      )
    }
  })
})
