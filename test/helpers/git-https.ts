import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import path from 'node:path'

/**
 * A git remote over https on localhost that wants basic auth, served by git's own http-backend (the
 * smart HTTP protocol a forge speaks), with a certificate made for the test (`caFile` trusts it).
 * `requests` records, per request, whether it carried the right credentials.
 */
export interface GitHttpsRemote {
  url(repository: string): string
  caFile: string
  requests: Array<{ path: string; authorized: boolean }>
  close(): Promise<void>
}

export async function startGitHttpsRemote(
  root: string,
  projectRoot: string,
  username: string,
  password: string,
): Promise<GitHttpsRemote> {
  const key = path.join(root, 'key.pem')
  const caFile = path.join(root, 'cert.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-keyout',
      key,
      '-out',
      caFile,
    ],
    { stdio: 'ignore' },
  )
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
  const requests: GitHttpsRemote['requests'] = []
  const server: Server = createServer(
    { key: await readFile(key), cert: await readFile(caFile) },
    (request, response) => {
      const url = new URL(request.url ?? '/', 'https://localhost')
      const authorized = request.headers.authorization === expected
      requests.push({ path: url.pathname, authorized })
      if (!authorized) {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end()
        return
      }
      const backend = spawn('git', ['http-backend'], {
        env: {
          PATH: process.env.PATH,
          GIT_PROJECT_ROOT: projectRoot,
          GIT_HTTP_EXPORT_ALL: '1',
          REQUEST_METHOD: request.method ?? 'GET',
          PATH_INFO: url.pathname,
          QUERY_STRING: url.search.slice(1),
          CONTENT_TYPE: request.headers['content-type'] ?? '',
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_CONFIG_GLOBAL: '/dev/null',
        },
      })
      request.pipe(backend.stdin)
      relayCgi(backend.stdout, response)
    },
  )
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  return {
    url: (repository) => `https://localhost:${port}/${repository}`,
    caFile,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** A CGI answer (headers, a blank line, the body) as an HTTP response. */
function relayCgi(output: NodeJS.ReadableStream, response: import('node:http').ServerResponse): void {
  let head = Buffer.alloc(0)
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end < 0) return
    output.off('data', onData)
    const headers: Record<string, string> = {}
    let status = 200
    for (const line of head.subarray(0, end).toString().split('\r\n')) {
      const [name = '', ...rest] = line.split(':')
      if (name.toLowerCase() === 'status') status = Number.parseInt(rest.join(':'), 10)
      else headers[name] = rest.join(':').trim()
    }
    response.writeHead(status, headers)
    response.write(head.subarray(end + 4))
    output.pipe(response)
  }
  output.on('data', onData)
}
