/** What the multi-node test runs beside the nodes: a loopback forwarder to the host's registry, the push, Caddy on node 1. */
import { connect, createServer, type Server, type Socket } from 'node:net'
import type Docker from 'dockerode'
import { docker } from '../helpers/docker.js'

/** A TCP port free on `address` a moment ago. */
export function freePortOn(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, address, () => {
      const bound = server.address()
      server.close(() => resolve(typeof bound === 'object' && bound ? bound.port : 0))
    })
  })
}

/** A loopback port whose connections are piped to `targetHost:targetPort`. */
export async function forward(
  targetHost: string,
  targetPort: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost)
    track(client)
    track(upstream)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.pipe(upstream).pipe(client)
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const bound = server.address()
      resolve(typeof bound === 'object' && bound ? bound.port : 0)
    })
  })
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Pushes an image of the host engine (no credentials) and returns the digest the registry gave it. */
export async function push(image: string): Promise<string> {
  const stream = await docker.getImage(image).push({ authconfig: {} })
  let digest: string | undefined
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: Array<{ error?: string; aux?: { Digest?: string } }>) => {
        const failed = error ?? output.find((item) => item.error)?.error
        digest = output.find((item) => item.aux?.Digest)?.aux?.Digest
        if (failed) reject(failed instanceof Error ? failed : new Error(failed))
        else resolve()
      },
    )
  })
  if (!digest) throw new Error(`the registry gave ${image} no digest`)
  return digest
}

/** Caddy on a node, its admin API and HTTP port published on the node's address. */
export async function runCaddy(
  engine: Docker,
  options: {
    name: string
    image: string
    labels: Record<string, string>
    adminPort: number
    httpPort: number
  },
): Promise<void> {
  const { adminPort, httpPort } = options
  const container = await engine.createContainer({
    name: options.name,
    Image: options.image,
    Labels: options.labels,
    ExposedPorts: { [`${adminPort}/tcp`]: {}, [`${httpPort}/tcp`]: {} },
    HostConfig: {
      PortBindings: {
        [`${adminPort}/tcp`]: [{ HostPort: String(adminPort) }],
        [`${httpPort}/tcp`]: [{ HostPort: String(httpPort) }],
      },
    },
  })
  await container.start()
}
