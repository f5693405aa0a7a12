import assert from 'node:assert/strict'
import { test } from 'node:test'
import { registryHost, splitReference } from './references.js'

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
