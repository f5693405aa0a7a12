import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { GilgalError } from '../errors.js'

/**
 * Where Gilgal connects on a user's behalf (git remotes, image registries): never, unless the operator
 * allows it (GILGAL_ALLOW_PRIVATE_SOURCES), to an address inside the host's own networks: loopback,
 * private, link-local (the cloud metadata service at 169.254.169.254), shared, unspecified, multicast
 * or reserved. Checked on the addresses a name resolves to, since `2130706433`, `0x7f000001` and a
 * name that resolves to 10.0.0.5 all mean a private address.
 */
const PRIVATE = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(network, prefix, 'ipv4')
for (const [network, prefix] of [
  ['::', 96], // ::, ::1 and the IPv4-compatible addresses
  ['64:ff9b::', 96], // NAT64: an IPv4 address behind a gateway
  ['2002::', 16], // 6to4: the same
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(network, prefix, 'ipv6') // ::ffff:a.b.c.d is checked against the IPv4 ranges too

export class OutboundRefusedError extends GilgalError {
  constructor(message: string) {
    super('GILGAL_OUTBOUND_REFUSED', 422, 'Address refused', message)
  }
}

export function isPrivateAddress(address: string): boolean {
  return PRIVATE.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
}

/**
 * The addresses `host` resolves to, once each is known not to be private (unless `allowPrivate`).
 * Pin the connection to the answer where the client allows it, or a second lookup could answer
 * otherwise.
 */
export async function resolvePublic(host: string, allowPrivate: boolean): Promise<string[]> {
  if (allowPrivate) return []
  const bare = host.replace(/^\[(.*)\]$/, '$1')
  // A name that does not resolve here is refused too: the client's own lookup could answer otherwise.
  const answers = await lookup(bare, { all: true, verbatim: true }).catch(() => {
    throw new OutboundRefusedError(
      `${host} does not resolve, so it cannot be checked (GILGAL_ALLOW_PRIVATE_SOURCES=false)`,
    )
  })
  const addresses = answers.map((answer) => answer.address)
  const refused = addresses.find(isPrivateAddress)
  if (refused) {
    throw new OutboundRefusedError(
      `${host} is ${bare === refused ? '' : `at ${refused}, `}an address inside this server's networks, ` +
        'which it does not connect to for users (GILGAL_ALLOW_PRIVATE_SOURCES=false)',
    )
  }
  return addresses
}
