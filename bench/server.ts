/**
 * The servers under test, in their own process so the load generator does not share their event
 * loop: the real API (bcrypt cost 12, like production) and, as baselines, bare Fastify routes.
 * Prints one JSON line with both ports once listening; stops on SIGTERM.
 */
import Fastify from 'fastify'
import { buildApp } from '../src/api/app.js'
import { createPasswordHasher } from '../src/auth/passwords.js'
import { parseConfig } from '../src/config/index.js'
import { parseSecretKeys } from '../src/config/secrets.js'
import { createLogger } from '../src/log.js'
import { createPool } from '../src/store/pool.js'
import { presentEnvironment } from '../src/api/present.js'
import { environmentResource, listOf } from '../src/api/schemas.js'
import { listEnvironments } from '../src/store/environments.js'

const log = createLogger('silent')
const pool = createPool(process.argv[2]!, log, 20)
const passwords = createPasswordHasher()
const app = await buildApp({
  pool,
  log,
  version: { version: 'bench', commit: null, node: process.version },
  secrets: {
    jwtSecret: 'bench-secret-that-is-long-enough-0123456789',
    secretKeys: parseSecretKeys(`bench:${Buffer.alloc(32, 9).toString('base64')}`),
  },
  passwords,
  authRateLimit: { max: 1_000_000, timeWindow: 60_000 },
  // The product's bounds, but no quotas or pace: the bench writes thousands of revisions a minute as one user.
  limits: {
    ...parseConfig({}).limits,
    quotas: { projects: 1e6, environments: 1e6, replicas: 1e6, builds: 1e6 },
    writesPerMinute: 1_000_000,
  },
})
const bare = Fastify()
bare.get('/hello', async () => ({ hello: 'world' }))
// The ceiling of any route that makes one PostgreSQL round trip on this machine.
bare.get('/one-query', async () => (await pool.query('select 1 as one')).rows[0])
// The list route's parts without the API around it (auth, hooks): its query, then its answer's
// serialisation, so the gap between one query and the API shows where it goes.
type ListQuery = { Querystring: { user: string; project: string } }
const page = (query: ListQuery['Querystring']) => listEnvironments(pool, query.user, query.project, 20)
bare.get<ListQuery>('/list-query', async (request) => page(request.query))
bare.get<ListQuery>(
  '/list-presented',
  { schema: { response: { 200: listOf(environmentResource) } } },
  async (request) => {
    const { items, nextCursor } = (await page(request.query))!
    return { items: items.map(presentEnvironment), nextCursor }
  },
)
await app.listen({ port: 0, host: '127.0.0.1' })
await bare.listen({ port: 0, host: '127.0.0.1' })
const port = (server: typeof bare) => (server.server.address() as { port: number }).port
process.stdout.write(JSON.stringify({ api: port(app as unknown as typeof bare), bare: port(bare) }) + '\n')
process.on('SIGTERM', async () => {
  await Promise.all([app.close(), bare.close()])
  await passwords.close()
  await pool.end()
  process.exit(0)
})
