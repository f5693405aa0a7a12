/**
 * The requests docs/API.md shows, one per operation of the OpenAPI document: path values by
 * parameter, and a realistic body for every operation that takes one. scripts/api-docs.ts validates
 * each body against the operation's own schema, so an example that the server would refuse fails
 * `npm run docs:api` and the test, instead of reaching the reader.
 */

/** `$NAME` values are left to the reader's shell, as `$GILGAL_URL` and `$TOKEN` are. */
const PATH_VALUES: Record<string, Record<string, string>> = {
  projects: { id: 'shop', projectId: 'shop' },
  environments: { id: '$ENVIRONMENT_ID', projectId: 'shop', name: 'production' },
  deployments: { id: '$DEPLOYMENT_ID', projectId: 'shop', name: 'production-r3' },
  auth: { id: '$API_KEY_ID' },
}

export function pathValue(tag: string, parameter: string): string {
  const value = PATH_VALUES[tag]?.[parameter]
  if (value === undefined) throw new Error(`no example value for {${parameter}} of a ${tag} path`)
  return value
}

export type ExampleBody = { json: unknown } | { yaml: string }

const environmentSpec = {
  source: { git: { ref: 'main' } },
  env: { NODE_ENV: 'production' },
  secretEnv: { DATABASE_URL: 'postgres://shop:change-me@db.internal:5432/shop' },
  port: 3000,
  replicas: 2,
  resources: { memory: '512Mi', cpus: 0.5 },
  domains: ['shop.example.com'],
  healthCheck: { http: { path: '/healthz' }, intervalSeconds: 2 },
  rollout: { strategy: 'StartFirst', autoRollback: true },
}

const projectSpec = {
  displayName: 'Shop',
  repository: { url: 'https://github.com/acme/shop.git', ref: 'main' },
  framework: 'auto',
}

const manifests = `apiVersion: gilgal.dev/v1
kind: Project
metadata:
  name: shop
spec:
  displayName: Shop
  repository: { url: https://github.com/acme/shop.git, ref: main }
---
apiVersion: gilgal.dev/v1
kind: Environment
metadata:
  name: production
  project: shop
spec:
  env: { NODE_ENV: production }
  port: 3000
  replicas: 2
  domains: [shop.example.com]
  healthCheck:
    http: { path: /healthz }
`

const credentials = { email: 'ada@example.com', password: 'correct horse battery staple' }
const refreshToken = { refreshToken: '$REFRESH_TOKEN' }

/** By operationId: what the body of that request could be. */
export const EXAMPLE_BODIES: Record<string, ExampleBody> = {
  register: { json: { ...credentials, username: 'ada' } },
  login: { json: credentials },
  refresh: { json: refreshToken },
  logout: { json: refreshToken },
  updateMe: { json: { username: 'ada-l', currentPassword: credentials.password } },
  createApiKey: { json: { name: 'ci', scope: 'write' } },
  createProject: { json: { name: 'shop', labels: { team: 'web' }, spec: projectSpec } },
  replaceProject: { json: { labels: { team: 'web' }, spec: { ...projectSpec, framework: 'nextjs' } } },
  createEnvironment: { json: { name: 'production', spec: environmentSpec } },
  replaceEnvironment: { json: { spec: { ...environmentSpec, replicas: 3 } } },
  deploy: { json: { environment: 'production', source: { git: { ref: 'v1.4.0' } } } },
  apply: { yaml: manifests },
}
