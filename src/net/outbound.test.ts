import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isPrivateAddress, OutboundRefusedError, resolvePublic } from './outbound.js'

test('addresses inside the host networks are private, in every family and form', () => {
  for (const address of [
    '64:ff9b::a00:1',
    '2002:7f00:1::1',
    '::7f00:1',
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fd00::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
  ]) {
    assert.equal(isPrivateAddress(address), true, address)
  }
  for (const address of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
    assert.equal(isPrivateAddress(address), false, address)
  }
})

test('a host is refused by the address it resolves to, however it is written', async () => {
  for (const host of [
    '127.0.0.1',
    '2130706433',
    '0x7f000001',
    '127.1',
    'localhost',
    '169.254.169.254',
    '[::1]',
  ]) {
    await assert.rejects(resolvePublic(host, false), OutboundRefusedError, host)
  }
  await assert.rejects(
    resolvePublic('2130706433', false),
    /2130706433 is at 127\.0\.0\.1, an address inside this server's networks/,
  )
  assert.deepEqual(await resolvePublic('8.8.8.8', false), ['8.8.8.8'])
  assert.deepEqual(await resolvePublic('127.0.0.1', true), [], 'the operator allows it: nothing checked')
  await assert.rejects(resolvePublic('name.invalid', false), /does not resolve, so it cannot be checked/)
})
