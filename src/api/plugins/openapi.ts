import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema } from 'fastify'
import type { VersionInfo } from '../../version.js'
import { componentNameOf, documentedForm, finishDocument } from '../openapi-document.js'
import { securitySchemes } from '../schemas.js'

const TAGS = [
  { name: 'auth', description: 'Accounts, sessions (access and refresh tokens) and API keys.' },
  { name: 'projects', description: 'Projects: a repository and its settings; their events.' },
  { name: 'environments', description: 'What should run, and how; runtime logs.' },
  { name: 'deployments', description: 'Revisions of an environment: deploy, roll back, cancel; build logs.' },
  { name: 'apply', description: 'Manifests (YAML or JSON), written together or not at all.' },
  { name: 'health', description: 'Liveness, readiness and version: no authentication.' },
]

const DESCRIPTION = `Desired state in, observed state out.

Authenticate with \`Authorization: Bearer <token>\`: the accessToken of POST /api/auth/login, or an
API key (\`gil_…\`). Errors are RFC 9457 problem details (\`application/problem+json\`) with a stable
\`code\`. docs/API.md in the repository is generated from this document.`

/**
 * OpenAPI 3.1 generated from the route schemas, at /api/openapi.json, with Swagger UI at /docs. 3.1,
 * because its schemas are JSON Schema: the manifest schemas (propertyNames, if/then, const) go in
 * as they are. openapi-document.ts makes the document stand alone.
 */
export async function registerOpenApi(app: FastifyInstance, version: VersionInfo): Promise<void> {
  const options: FastifyDynamicSwaggerOptions = {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Gilgal API', version: version.version, description: DESCRIPTION },
      tags: TAGS,
      components: { securitySchemes },
    },
    refResolver: { buildLocalReference: (schema) => componentNameOf(schema) },
    transform: ({ schema, url }) => ({ schema: documentedForm(schema) as FastifySchema, url }),
    // Only an openapi document is made (options.openapi), never a Swagger 2 one.
    transformObject: (documents) =>
      finishDocument((documents as { openapiObject: Record<string, unknown> }).openapiObject),
  }
  await app.register(swagger, options)
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
