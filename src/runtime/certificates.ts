import tls from 'node:tls'

/** What a TLS handshake for one hostname showed: a certificate clients trust, or why not. */
export type CertificateCheck = { trusted: true; validTo: string } | { trusted: false; reason: string }

/**
 * Asks the proxy at `host:port` for `servername`'s certificate, as a browser would (SNI, the system's
 * trusted authorities, the name checked). Caddy answers a name it holds no certificate for yet with a
 * TLS alert, which is the reason given.
 */
export function checkCertificate(
  host: string,
  port: number,
  servername: string,
  timeoutMs = 5000,
): Promise<CertificateCheck> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, servername, rejectUnauthorized: false, timeout: timeoutMs })
    const done = (check: CertificateCheck) => {
      socket.destroy()
      resolve(check)
    }
    socket.once('secureConnect', () => {
      const certificate = socket.getPeerCertificate()
      const mismatch = tls.checkServerIdentity(servername, certificate)
      if (!socket.authorized) done({ trusted: false, reason: String(socket.authorizationError) })
      else if (mismatch) done({ trusted: false, reason: mismatch.message })
      else done({ trusted: true, validTo: certificate.valid_to })
    })
    socket.once('timeout', () => done({ trusted: false, reason: `no TLS answer within ${timeoutMs} ms` }))
    socket.once('error', (error) => done({ trusted: false, reason: error.message }))
  })
}
