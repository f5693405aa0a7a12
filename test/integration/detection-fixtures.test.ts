import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { directoryTree } from '../../src/source/checkout.js'
import { detectFramework, type Framework } from '../../src/source/detect.js'
import { generateDockerfile } from '../../src/source/dockerfiles.js'

const TREES = fileURLToPath(new URL('../fixtures/frameworks/', import.meta.url))

interface Expected {
  framework: Framework
  /** The FROM lines' stage names, in order. */
  stages: string[]
  /** Lines the Dockerfile must contain (install, build, copy of the output). */
  commands: string[]
  cmd: string[] | undefined
  port: number
}

const node = (cmd: string[], install: string, build: string[] = []): Omit<Expected, 'framework'> => ({
  stages: ['deps', 'build', 'runtime'],
  commands: [`RUN ${install}`, ...build, 'USER 1000'],
  cmd,
  port: 3000,
})
const spa = (install: string, build: string, output: string): Omit<Expected, 'framework'> => ({
  stages: ['deps', 'build', 'runtime'],
  commands: [`RUN ${install}`, `RUN ${build}`, `COPY --from=build /app/${output} /usr/share/nginx/html`],
  cmd: undefined,
  port: 8080,
})

const python = (cmd: string[]): Omit<Expected, 'framework'> => ({
  stages: ['runtime'],
  commands: ['RUN pip install --no-cache-dir -r requirements.txt gunicorn', 'USER 1000'],
  cmd,
  port: 8000,
})

/** Every framework Gilgal detects, each from a small source tree under test/fixtures/frameworks/. */
const EXPECTED: Record<string, Expected> = {
  nextjs: {
    framework: 'nextjs',
    ...node(['npx', 'next', 'start'], 'corepack enable && yarn install --frozen-lockfile', [
      'RUN yarn run build',
    ]),
  },
  'react-cra': { framework: 'react', ...spa('npm ci', 'npm run build', 'build') },
  'react-vite': {
    framework: 'react',
    ...spa('corepack enable && pnpm install --frozen-lockfile', 'pnpm run build', 'dist'),
  },
  vue: { framework: 'vue', ...spa('npm ci', 'npm run build', 'dist') },
  svelte: { framework: 'svelte', ...spa('npm install', 'npm run build', 'dist') },
  sveltekit: { framework: 'svelte', ...node(['node', 'build'], 'npm ci', ['RUN npm run build']) },
  node: { framework: 'node', ...node(['npm', 'start'], 'npm ci') },
  django: { framework: 'django', ...python(['gunicorn', 'shop.wsgi', '--bind', '0.0.0.0:8000']) },
  flask: { framework: 'flask', ...python(['gunicorn', 'app:app', '--bind', '0.0.0.0:8000']) },
  laravel: {
    framework: 'laravel',
    stages: ['runtime'],
    commands: ['RUN composer install --no-dev --no-scripts --no-autoloader --prefer-dist', 'USER 1000'],
    cmd: ['php', 'artisan', 'serve', '--host=0.0.0.0', '--port=8000'],
    port: 8000,
  },
  static: {
    framework: 'static',
    stages: [],
    commands: ['COPY . /usr/share/nginx/html'],
    cmd: undefined,
    port: 8080,
  },
}

describe('framework detection from fixture trees', () => {
  test('every fixture tree has an expectation, and every framework a tree', async () => {
    assert.deepEqual((await readdir(TREES)).sort(), Object.keys(EXPECTED).sort())
    const covered = new Set(Object.values(EXPECTED).map((expected) => expected.framework))
    assert.equal(covered.size, 9, 'all frameworks but "dockerfile" (tested with the fixture apps)')
  })

  for (const [tree, expected] of Object.entries(EXPECTED)) {
    test(`${tree}: ${expected.framework}, with the right stages, commands and port`, () => {
      const detection = detectFramework(directoryTree(`${TREES}${tree}`))
      assert.equal(detection.framework, expected.framework)
      const { dockerfile, port } = generateDockerfile(detection)
      assert.equal(port, expected.port)
      const stages = [...dockerfile.matchAll(/^FROM \S+(?: AS (\S+))?$/gm)].map((match) => match[1])
      assert.deepEqual(stages.filter(Boolean), expected.stages)
      const lines = dockerfile.split('\n')
      for (const command of expected.commands)
        assert.ok(lines.includes(command), `${tree}: ${command}\n${dockerfile}`)
      assert.ok(lines.includes(`EXPOSE ${expected.port}`))
      const cmd = /^CMD (.*)$/m.exec(dockerfile)?.[1]
      assert.deepEqual(cmd === undefined ? undefined : JSON.parse(cmd), expected.cmd)
    })
  }
})
