import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import type { VersionInfo } from '../../version.js'

/** OpenAPI generated from the route schemas, at /api/openapi.json, with Swagger UI at /docs. */
export async function registerOpenApi(app: FastifyInstance, version: VersionInfo): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Gilgal API',
        version: version.version,
        description: 'Desired state in, observed state out.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
