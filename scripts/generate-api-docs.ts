/**
 * Writes docs/openapi.json (the OpenAPI document the server serves at /api/openapi.json) and
 * docs/API.md (the reference rendered from it, scripts/api-docs.ts). `npm run docs:api` rewrites
 * both; test/integration/openapi.test.ts fails when either is out of date.
 *
 * The app is built as the server builds it, without a database: making the document reads no row,
 * so the pool is one that is never queried, and nothing listens. Both files go through prettier with
 * the repository's settings, so `npm run lint` (prettier --check) accepts them as they are.
 */
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import * as prettier from 'prettier'
import { buildApp } from '../src/api/app.js'
import type { PasswordHasher } from '../src/auth/passwords.js'
import { parseConfig } from '../src/config/index.js'
import { parseSecretKeys } from '../src/config/secrets.js'
import { createLogger } from '../src/log.js'
import { createPool } from '../src/store/pool.js'
import { checkExamples, renderApiDocs } from './api-docs.js'
import type { Document } from './api-reference.js'

export const OPENAPI_FILE = new URL('../docs/openapi.json', import.meta.url)
export const API_DOCS_FILE = new URL('../docs/API.md', import.meta.url)

// Building the document hashes no password: a hasher would only start worker threads for nothing.
const unusedPasswords: PasswordHasher = {
  hash: () => Promise.reject(new Error('no passwords while generating docs')),
  verify: () => Promise.reject(new Error('no passwords while generating docs')),
  close: async () => {},
}

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'))
  return (pkg as { version: string }).version
}

/** The OpenAPI document of an app built as `gilgal server` builds it, at this package's version. */
export async function buildOpenApiDocument(): Promise<Document> {
  const log = createLogger('silent')
  const pool = createPool('postgres://gilgal-docs@127.0.0.1:1/never-queried', log, 1)
  const app = await buildApp({
    pool,
    log,
    version: { version: await packageVersion(), commit: null, node: process.version },
    secrets: {
      jwtSecret: randomBytes(32).toString('hex'),
      secretKeys: parseSecretKeys(`docs:${randomBytes(32).toString('base64')}`),
    },
    passwords: unusedPasswords,
    limits: parseConfig({}).limits,
  })
  try {
    await app.ready()
    return structuredClone(app.swagger()) as unknown as Document
  } finally {
    await app.close()
    await pool.end()
  }
}

async function formatted(text: string, target: URL): Promise<string> {
  const file = fileURLToPath(target)
  const style = (await prettier.resolveConfig(file)) ?? {}
  return prettier.format(text, { ...style, filepath: file })
}

/** docs/openapi.json and docs/API.md as they should be now. */
export async function generateApiDocs(document?: Document): Promise<{ openapi: string; markdown: string }> {
  const openapi = document ?? (await buildOpenApiDocument())
  checkExamples(openapi)
  return {
    openapi: await formatted(JSON.stringify(openapi, null, 2), OPENAPI_FILE),
    markdown: await formatted(renderApiDocs(openapi), API_DOCS_FILE),
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { openapi, markdown } = await generateApiDocs()
  await writeFile(OPENAPI_FILE, openapi)
  await writeFile(API_DOCS_FILE, markdown)
  console.log(`wrote ${fileURLToPath(OPENAPI_FILE)} and ${fileURLToPath(API_DOCS_FILE)}`)
}
