import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DetectionError, detectFramework, type SourceTree } from './detect.js'
import { generateDockerfile } from './dockerfiles.js'

function tree(files: Record<string, string | object>): SourceTree {
  return {
    read: (path) => {
      const content = files[path]
      return content === undefined
        ? undefined
        : typeof content === 'string'
          ? content
          : JSON.stringify(content)
    },
  }
}

const pkg = (dependencies: Record<string, string>, scripts: Record<string, string> = {}) => ({
  dependencies,
  scripts,
})

describe('framework detection', () => {
  const cases: Array<[string, Record<string, string | object>, Partial<ReturnType<typeof detectFramework>>]> =
    [
      [
        'a Dockerfile wins',
        { Dockerfile: 'FROM x', 'package.json': pkg({ next: '14' }) },
        { framework: 'dockerfile' },
      ],
      [
        'Next.js',
        { 'package.json': pkg({ next: '14', react: '18' }, { build: 'next build' }), 'yarn.lock': '' },
        { framework: 'nextjs', packageManager: 'yarn', lockfile: 'yarn.lock' },
      ],
      [
        'Create React App',
        { 'package.json': pkg({ react: '18', 'react-scripts': '5' }), 'package-lock.json': '{}' },
        { framework: 'react', outputDir: 'build', packageManager: 'npm' },
      ],
      [
        'React with Vite',
        {
          'package.json': { dependencies: { react: '18' }, devDependencies: { vite: '5' } },
          'pnpm-lock.yaml': '',
        },
        { framework: 'react', outputDir: 'dist', packageManager: 'pnpm' },
      ],
      ['Vue', { 'package.json': pkg({ vue: '3' }) }, { framework: 'vue', outputDir: 'dist' }],
      [
        'SvelteKit',
        { 'package.json': { devDependencies: { '@sveltejs/kit': '2', svelte: '4' } } },
        { framework: 'svelte', outputDir: undefined },
      ],
      [
        'Svelte',
        { 'package.json': { devDependencies: { svelte: '4', vite: '5' } } },
        { framework: 'svelte', outputDir: 'dist' },
      ],
      [
        'a Node server',
        { 'package.json': pkg({ express: '4' }, { start: 'node server.js' }) },
        { framework: 'node', scripts: { build: false, start: true } },
      ],
      [
        'Django',
        {
          'manage.py': "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')",
          'requirements.txt': 'Django==5.0\n',
        },
        { framework: 'django', wsgiModule: 'shop' },
      ],
      ['Flask', { 'requirements.txt': 'flask==3.0\ngunicorn\n', 'app.py': '' }, { framework: 'flask' }],
      ['Laravel', { 'composer.json': '{}', artisan: '' }, { framework: 'laravel' }],
      ['a static site', { 'index.html': '<h1>hi</h1>' }, { framework: 'static' }],
    ]
  for (const [name, files, expected] of cases) {
    test(name, () => {
      const detection = detectFramework(tree(files))
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(detection[key as keyof typeof detection], value, `${name}: ${key}`)
      }
      assert.ok(detection.reason.length > 0)
    })
  }

  test('an unrecognisable source or a broken package.json is a clear error', () => {
    assert.throws(() => detectFramework(tree({ 'main.go': 'package main' })), DetectionError)
    assert.throws(() => detectFramework(tree({ 'package.json': '{oops' })), /package.json is not valid JSON/)
  })
})

describe('generated Dockerfiles', () => {
  test('a Node server: cache-friendly install stage, build stage, slim non-root runtime on 3000', () => {
    const detection = detectFramework(
      tree({
        'package.json': pkg({ express: '4' }, { build: 'tsc', start: 'node dist/server.js' }),
        'package-lock.json': '{}',
      }),
    )
    const { dockerfile, port } = generateDockerfile(detection)
    assert.equal(port, 3000)
    assert.match(
      dockerfile,
      /^FROM node:\S+ AS deps\nWORKDIR \/app\nCOPY package\.json package-lock\.json \.\/\nRUN npm ci\n/,
    )
    assert.match(dockerfile, /FROM deps AS build\nCOPY \. \.\nRUN npm run build\n/)
    assert.match(
      dockerfile,
      /FROM node:\S+ AS runtime\n[\s\S]*USER 1000\nEXPOSE 3000\nCMD \["npm","start"\]\n$/,
    )
  })

  test('Next.js starts with next start; a lock file picks the package manager', () => {
    const detection = detectFramework(
      tree({ 'package.json': pkg({ next: '14' }, { build: 'next build' }), 'pnpm-lock.yaml': '' }),
    )
    const { dockerfile } = generateDockerfile(detection)
    assert.match(dockerfile, /RUN corepack enable && pnpm install --frozen-lockfile/)
    assert.match(dockerfile, /RUN pnpm run build/)
    assert.match(dockerfile, /CMD \["npx","next","start"\]/)
  })

  test('single-page apps are built with Node and served as files on 8080', () => {
    const cra = generateDockerfile(
      detectFramework(
        tree({
          'package.json': pkg({ react: '18', 'react-scripts': '5' }, { build: 'react-scripts build' }),
        }),
      ),
    )
    assert.equal(cra.port, 8080)
    assert.match(cra.dockerfile, /RUN npm install\n/, 'no lock file: npm install')
    assert.match(cra.dockerfile, /COPY --from=build \/app\/build \/usr\/share\/nginx\/html/)
    const vue = generateDockerfile(
      detectFramework(tree({ 'package.json': pkg({ vue: '3' }, { build: 'vite build' }) })),
    )
    assert.match(vue.dockerfile, /COPY --from=build \/app\/dist /)
  })

  test('Django runs gunicorn on the project package; Flask on app:app; both non-root on 8000', () => {
    const django = generateDockerfile(
      detectFramework(
        tree({
          'manage.py': "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')",
          'requirements.txt': 'django',
        }),
      ),
    )
    assert.match(django.dockerfile, /CMD \["gunicorn","shop\.wsgi","--bind","0\.0\.0\.0:8000"\]/)
    const flask = generateDockerfile(detectFramework(tree({ 'requirements.txt': 'flask' })))
    assert.match(flask.dockerfile, /CMD \["gunicorn","app:app"/)
    for (const { dockerfile, port } of [django, flask]) {
      assert.equal(port, 8000)
      assert.match(dockerfile, /USER 1000/)
    }
  })

  test('base images are configurable, for engines that cannot pull', () => {
    const images = { node: 'local/node:20', python: 'local/python', php: 'local/php', static: 'local/static' }
    const { dockerfile } = generateDockerfile(
      detectFramework(tree({ 'package.json': pkg({ express: '4' }) })),
      images,
    )
    assert.deepEqual(dockerfile.match(/^FROM \S+/gm), [
      'FROM local/node:20',
      'FROM deps',
      'FROM local/node:20',
    ])
  })
})
