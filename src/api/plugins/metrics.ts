import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { ForbiddenError, UnauthorizedError } from '../../errors.js'
import type { Metrics } from '../../metrics/registry.js'

/**
 * `GET /metrics` (Prometheus text) and the request-duration histogram. With GILGAL_METRICS_TOKEN set,
 * scrapes must send it as a bearer token; without one, metrics are public only outside production
 * (they name routes, phases and counts that are no stranger's business).
 */
export function registerMetrics(
  app: FastifyInstance,
  metrics: Metrics,
  token?: string,
  requireToken = false,
): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    const labels = { method: request.method, route, status_code: String(reply.statusCode) }
    metrics.httpRequestDuration.observe(labels, reply.elapsedTime / 1000)
  })
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!token && requireToken)
      throw new ForbiddenError(
        'set GILGAL_METRICS_TOKEN to scrape /metrics in production',
        'GILGAL_METRICS_CLOSED',
      )
    if (token && !sameSecret(request.headers.authorization ?? '', `Bearer ${token}`)) {
      throw new UnauthorizedError('send the metrics token as Authorization: Bearer <token>')
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}

/** Compares digests: neither the time taken nor a length check tells a prober how long the token is. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(given), digest(expected))
}
