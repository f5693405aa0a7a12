import { randomBytes } from 'node:crypto'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { ConfigError } from '../errors.js'
import { parseConfig } from './index.js'
import { loadSecrets, parseSecretKeys } from './secrets.js'

const key32 = Buffer.alloc(32, 7).toString('base64')
const tempDirs: string[] = []

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gilgal-config-'))
  tempDirs.push(dir)
  return dir
}

after(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true })
})

describe('parseConfig', () => {
  test('an empty environment gives the documented defaults', () => {
    const config = parseConfig({}, '/srv/app')
    assert.equal(config.databaseUrl, undefined)
    assert.equal(config.dataDir, '/srv/app/.gilgal')
    assert.equal(config.port, 3000)
    assert.equal(config.host, '127.0.0.1')
    assert.equal(config.baseDomain, 'localhost')
    assert.equal(config.caddyAdminUrl, undefined)
    assert.deepEqual([config.httpPort, config.httpsPort], [80, 443])
    assert.equal(config.tls, 'off')
    assert.equal(config.role, 'all')
    assert.deepEqual([config.runtime, config.swarmReach], ['docker', 'host'])
    assert.equal(config.resyncSeconds, 30)
    assert.deepEqual([config.leaseSeconds, config.leaseRenewSeconds], [10, 2])
    assert.equal(config.buildConcurrency, 1)
    assert.equal(config.buildMemoryBytes, 2 * 1024 ** 3)
    assert.equal(config.allowLocalSources, false)
    assert.equal(config.logLevel, 'info')
    assert.deepEqual(config.corsOrigins, [])
    assert.ok(Object.isFrozen(config))
  })

  test('values are coerced to their types, and empty strings count as unset', () => {
    const config = parseConfig({
      PORT: '8080',
      GILGAL_ROLE: 'controller',
      GILGAL_RUNTIME: 'swarm',
      GILGAL_SWARM_REACH: 'overlay',
      GILGAL_ALLOW_LOCAL_SOURCES: 'true',
      GILGAL_BUILD_MEMORY: '512m',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      GILGAL_DATA_DIR: '/var/lib/gilgal',
      DATABASE_URL: 'postgres://u:p@db:5432/gilgal',
      HOST: '',
    })
    assert.equal(config.port, 8080)
    assert.equal(config.role, 'controller')
    assert.deepEqual([config.runtime, config.swarmReach], ['swarm', 'overlay'])
    assert.equal(config.allowLocalSources, true)
    assert.equal(config.buildMemoryBytes, 512 * 1024 ** 2)
    assert.deepEqual(config.corsOrigins, ['https://a.example', 'https://b.example'])
    assert.equal(config.dataDir, '/var/lib/gilgal')
    assert.equal(config.databaseUrl, 'postgres://u:p@db:5432/gilgal')
    assert.equal(config.host, '127.0.0.1')
  })

  test('local images are allowed in development and refused in production, unless set', () => {
    assert.equal(parseConfig({}).allowLocalImages, true)
    assert.equal(parseConfig({ NODE_ENV: 'production' }).allowLocalImages, false)
    assert.equal(
      parseConfig({ NODE_ENV: 'production', GILGAL_ALLOW_LOCAL_IMAGES: 'true' }).allowLocalImages,
      true,
    )
    assert.equal(parseConfig({ GILGAL_ALLOW_LOCAL_IMAGES: 'false' }).allowLocalImages, false)
  })

  test('TLS defaults to auto in production', () => {
    assert.equal(parseConfig({ NODE_ENV: 'production' }).tls, 'auto')
    assert.equal(parseConfig({ NODE_ENV: 'production', GILGAL_TLS: 'off' }).tls, 'off')
  })

  test('the metrics token is taken as given; unset or empty, there is none', () => {
    const token = 'scrape-token-0123456789'
    assert.equal(parseConfig({ GILGAL_METRICS_TOKEN: token }).metricsToken, token)
    assert.equal(parseConfig({}).metricsToken, undefined)
    assert.equal(parseConfig({ GILGAL_METRICS_TOKEN: '' }).metricsToken, undefined)
  })

  test('routing settings: the API host, the ACME email and the containers to attach', () => {
    const config = parseConfig({
      GILGAL_API_HOST: 'gilgal.example.com',
      GILGAL_ACME_EMAIL: 'ops@example.com',
      GILGAL_ATTACH_CONTAINERS: 'gilgal-caddy,gilgal',
      GILGAL_TRUSTED_PROXIES: '127.0.0.1,172.31.250.10',
    })
    assert.deepEqual(config.trustedProxies, ['127.0.0.1', '172.31.250.10'])
    assert.equal(config.apiHost, 'gilgal.example.com')
    assert.equal(config.acmeEmail, 'ops@example.com')
    assert.deepEqual(config.attachContainers, ['gilgal-caddy', 'gilgal'])
    assert.deepEqual(parseConfig({}).attachContainers, [])
  })

  const badValues: Array<[string, string]> = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['GILGAL_EMBEDDED_PG_PORT', '0'],
    ['DATABASE_URL', 'mysql://localhost/x'],
    ['DOCKER_HOST', '/var/run/docker.sock'],
    ['GILGAL_BASE_DOMAIN', 'Apps_Example'],
    ['GILGAL_CADDY_ADMIN_URL', 'localhost:2019'],
    ['GILGAL_HTTP_PORT', '-1'],
    ['GILGAL_TLS', 'on'],
    ['GILGAL_ROLE', 'worker'],
    ['GILGAL_RUNTIME', 'kubernetes'],
    ['GILGAL_SWARM_REACH', 'vip'],
    ['GILGAL_RESYNC_SECONDS', '0'],
    ['GILGAL_RESYNC_SECONDS', '1.5'],
    ['GILGAL_BUILD_CONCURRENCY', 'many'],
    ['GILGAL_BUILD_MEMORY', 'lots'],
    ['GILGAL_REGISTRY', 'https://registry.example.com'],
    ['GILGAL_ALLOW_LOCAL_SOURCES', 'maybe'],
    ['LOG_LEVEL', 'verbose'],
    ['GILGAL_METRICS_TOKEN', 'short'],
    ['GILGAL_LEASE_SECONDS', '1'],
    ['GILGAL_LEASE_RENEW_SECONDS', '4'],
    ['GILGAL_API_HOST', 'localhost'],
    ['GILGAL_API_HOST', 'api.localhost'],
    ['GILGAL_API_HOST', 'Gilgal.Example.com'],
    ['GILGAL_ACME_EMAIL', 'not an email'],
    ['GILGAL_ATTACH_CONTAINERS', 'caddy gilgal'],
    ['GILGAL_TRUSTED_PROXIES', 'caddy'],
  ]
  for (const [name, value] of badValues) {
    test(`${name}=${value} is refused with one line naming the variable`, () => {
      assert.throws(
        () => parseConfig({ [name]: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError)
          assert.ok(error.message.startsWith(`${name}=`), error.message)
          assert.match(error.message, /is invalid: expected \S/)
          assert.ok(!error.message.includes('\n'))
          return true
        },
      )
    })
  }
})

describe('loadSecrets', () => {
  test('outside production, dev secrets are generated once (mode 0600) and reused', async () => {
    const dataDir = path.join(await tempDir(), 'nested', 'data')
    const config = parseConfig({ GILGAL_DATA_DIR: dataDir })
    const first = await loadSecrets(config)
    const second = await loadSecrets(config)
    assert.ok(Buffer.byteLength(first.jwtSecret) >= 32)
    assert.equal(first.secretKeys[0]?.key.length, 32)
    assert.equal(second.jwtSecret, first.jwtSecret)
    assert.deepEqual(second.secretKeys, first.secretKeys)
    assert.equal((await stat(path.join(dataDir, 'secrets.json'))).mode & 0o777, 0o600)
  })

  test('secrets from the environment win, and nothing is written', async () => {
    const dataDir = await tempDir()
    const jwtSecret = 'x'.repeat(32)
    const secrets = await loadSecrets(
      parseConfig({
        GILGAL_DATA_DIR: dataDir,
        GILGAL_JWT_SECRET: jwtSecret,
        GILGAL_SECRET_KEYS: `new:${key32}`,
      }),
    )
    assert.equal(secrets.jwtSecret, jwtSecret)
    assert.equal(secrets.secretKeys[0]?.id, 'new')
    await assert.rejects(readFile(path.join(dataDir, 'secrets.json')), { code: 'ENOENT' })
  })

  test('production refuses to start without explicit secrets', async () => {
    const dataDir = await tempDir()
    await assert.rejects(loadSecrets(parseConfig({ NODE_ENV: 'production', GILGAL_DATA_DIR: dataDir })), {
      message: /^GILGAL_JWT_SECRET is required when NODE_ENV=production/,
    })
    const onlyJwt = { NODE_ENV: 'production', GILGAL_DATA_DIR: dataDir, GILGAL_JWT_SECRET: 'y'.repeat(40) }
    await assert.rejects(loadSecrets(parseConfig(onlyJwt)), { message: /^GILGAL_SECRET_KEYS is required/ })
    await assert.rejects(readFile(path.join(dataDir, 'secrets.json')), { code: 'ENOENT' })
  })

  test('in production, secrets that do not look generated are refused', async () => {
    const base = { NODE_ENV: 'production', GILGAL_DATA_DIR: await tempDir() }
    const strongKey = `k1:${randomBytes(32).toString('base64')}`
    const strongJwt = randomBytes(48).toString('base64url')
    await assert.rejects(
      loadSecrets(parseConfig({ ...base, GILGAL_JWT_SECRET: 'a'.repeat(32), GILGAL_SECRET_KEYS: strongKey })),
      {
        message: /GILGAL_JWT_SECRET does not look random/,
      },
    )
    await assert.rejects(
      loadSecrets(
        parseConfig({ ...base, GILGAL_JWT_SECRET: 'ab'.repeat(24), GILGAL_SECRET_KEYS: strongKey }),
      ),
      {
        message: /GILGAL_JWT_SECRET does not look random/,
      },
    )
    const zeros = `k1:${Buffer.alloc(32).toString('base64')}`
    await assert.rejects(
      loadSecrets(parseConfig({ ...base, GILGAL_JWT_SECRET: strongJwt, GILGAL_SECRET_KEYS: zeros })),
      {
        message: /GILGAL_SECRET_KEYS key k1 does not look random/,
      },
    )
    const hex = randomBytes(32).toString('hex')
    const accepted = await loadSecrets(
      parseConfig({ ...base, GILGAL_JWT_SECRET: hex, GILGAL_SECRET_KEYS: strongKey }),
    )
    assert.equal(accepted.jwtSecret, hex, 'a hex secret is random enough')
  })

  test('a JWT secret shorter than 32 bytes is refused', async () => {
    const config = parseConfig({ GILGAL_JWT_SECRET: 'short', GILGAL_SECRET_KEYS: `k1:${key32}` })
    await assert.rejects(loadSecrets(config), { message: /GILGAL_JWT_SECRET is too short/ })
  })

  test('a damaged secrets file is refused with a clear message, not overwritten', async () => {
    const dataDir = await tempDir()
    await writeFile(path.join(dataDir, 'secrets.json'), '{not json')
    await assert.rejects(loadSecrets(parseConfig({ GILGAL_DATA_DIR: dataDir })), {
      message: /secrets\.json is damaged/,
    })
    assert.equal(await readFile(path.join(dataDir, 'secrets.json'), 'utf8'), '{not json')
  })
})

describe('parseSecretKeys', () => {
  test('keeps the order: the first key encrypts, all decrypt', () => {
    const keys = parseSecretKeys(`k2:${key32}, k1:${Buffer.alloc(32, 1).toString('base64')}`)
    assert.deepEqual(
      keys.map((k) => k.id),
      ['k2', 'k1'],
    )
  })

  const bad: Array<[string, RegExp]> = [
    [`k1:${Buffer.alloc(16).toString('base64')}`, /entry 1 .*32 bytes/],
    [`k1:${key32},bad id:${key32}`, /entry 2 .*id/],
    [`k1:${key32},k1:${key32}`, /repeated key id/],
    [key32, /entry 1/],
    ['', /entry 1/],
  ]
  for (const [value, message] of bad) {
    test(`refuses ${JSON.stringify(value.slice(0, 24))}…`, () => {
      assert.throws(
        () => parseSecretKeys(value),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      )
    })
  }
})
