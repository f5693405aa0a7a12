import assert from 'node:assert/strict'
import { test } from 'node:test'
import { registryHost, repositoryOf, splitReference, withTag } from './references.js'

test('the registry an image reference names: Docker Hub unless the first part is a host', () => {
  assert.equal(registryHost('nginx:1.27'), 'docker.io')
  assert.equal(registryHost('library/nginx'), 'docker.io')
  assert.equal(registryHost('registry.example.com/shop:1.4.2'), 'registry.example.com')
  assert.equal(registryHost('127.0.0.1:5000/a/b:1'), '127.0.0.1:5000')
  assert.equal(registryHost('localhost/app'), 'localhost')
})

test('a port is not a tag', () => {
  assert.deepEqual(splitReference('host:5000/gilgal/shop:abc-123'), {
    repository: 'host:5000/gilgal/shop',
    tag: 'abc-123',
  })
  assert.deepEqual(splitReference('host:5000/gilgal/shop'), {
    repository: 'host:5000/gilgal/shop',
    tag: 'latest',
  })
})

test('a reference gets an explicit tag, so the engine never takes it for an id prefix', () => {
  assert.equal(withTag('abcd'), 'abcd:latest')
  assert.equal(withTag('shop:1.2'), 'shop:1.2')
  assert.equal(withTag('host:5000/shop'), 'host:5000/shop:latest')
  assert.equal(withTag('host:5000/shop@sha256:' + 'a'.repeat(64)), 'host:5000/shop@sha256:' + 'a'.repeat(64))
  assert.equal(repositoryOf('host:5000/a/b:tag@sha256:' + 'b'.repeat(64)), 'host:5000/a/b')
})
