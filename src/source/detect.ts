import type { ProjectSpec } from '../model/specs.js'

// Framework detection from a source tree: a Dockerfile wins; otherwise package.json dependencies,
// lock files and the well-known files of Python and PHP frameworks decide.

/** What detection can find: the project schema's frameworks, less `auto` (which asks for detection). */
export type Framework = Exclude<ProjectSpec['framework'], 'auto'>
export type PackageManager = 'npm' | 'yarn' | 'pnpm'

/** A read-only view of the files of a source (the build workspace, or a map in tests). */
export interface SourceTree {
  read(path: string): string | undefined
}

export interface Detection {
  framework: Framework
  /** Node frameworks only. */
  packageManager?: PackageManager
  lockfile?: string
  /** package.json scripts present (build, start). */
  scripts?: { build: boolean; start: boolean }
  /** Where a single-page app's build lands (dist for Vite, build for Create React App). */
  outputDir?: string
  /** Django: the package holding wsgi.py. */
  wsgiModule?: string
  /** Why: shown in the build log. */
  reason: string
}

interface PackageJson {
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  scripts?: Record<string, string>
}

const LOCKFILES: Array<[string, PackageManager]> = [
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
  ['package-lock.json', 'npm'],
]

export class DetectionError extends Error {}

export function detectFramework(tree: SourceTree): Detection {
  if (tree.read('Dockerfile') !== undefined)
    return { framework: 'dockerfile', reason: 'the source has a Dockerfile' }
  const packageJson = tree.read('package.json')
  if (packageJson !== undefined) return detectNode(tree, parsePackageJson(packageJson))
  const requirements = (tree.read('requirements.txt') ?? '').toLowerCase()
  if (tree.read('manage.py') !== undefined || /^django\b/m.test(requirements)) {
    return {
      framework: 'django',
      wsgiModule: findWsgiModule(tree),
      reason: 'manage.py / Django in requirements.txt',
    }
  }
  if (/^flask\b/m.test(requirements)) return { framework: 'flask', reason: 'Flask in requirements.txt' }
  if (tree.read('composer.json') !== undefined && tree.read('artisan') !== undefined) {
    return { framework: 'laravel', reason: 'composer.json and artisan' }
  }
  if (tree.read('index.html') !== undefined) return { framework: 'static', reason: 'index.html' }
  throw new DetectionError(
    'cannot tell what this source is: add a Dockerfile, or a package.json, requirements.txt, composer.json or index.html',
  )
}

function detectNode(tree: SourceTree, pkg: PackageJson): Detection {
  const deps = { ...pkg.dependencies, ...pkg.devDependencies }
  const [lockfile, packageManager] = LOCKFILES.find(([file]) => tree.read(file) !== undefined) ?? [
    undefined,
    'npm',
  ]
  const scripts = { build: Boolean(pkg.scripts?.build), start: Boolean(pkg.scripts?.start) }
  const base = { packageManager, lockfile, scripts }
  if (deps.next) return { ...base, framework: 'nextjs', reason: 'next in package.json' }
  if (deps['@sveltejs/kit']) return { ...base, framework: 'svelte', reason: '@sveltejs/kit in package.json' }
  if (deps.svelte)
    return { ...base, framework: 'svelte', outputDir: 'dist', reason: 'svelte in package.json' }
  if (deps.vue) return { ...base, framework: 'vue', outputDir: 'dist', reason: 'vue in package.json' }
  if (deps['react-scripts'])
    return { ...base, framework: 'react', outputDir: 'build', reason: 'react-scripts (Create React App)' }
  if (deps.react && deps.vite)
    return { ...base, framework: 'react', outputDir: 'dist', reason: 'react with vite' }
  return { ...base, framework: 'node', reason: 'package.json without a front-end framework' }
}

function parsePackageJson(text: string): PackageJson {
  try {
    return JSON.parse(text) as PackageJson
  } catch {
    throw new DetectionError('package.json is not valid JSON')
  }
}

/** Django projects keep wsgi.py in the package named by DJANGO_SETTINGS_MODULE in manage.py. */
function findWsgiModule(tree: SourceTree): string | undefined {
  const settings = /DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w]*)\.settings/.exec(
    tree.read('manage.py') ?? '',
  )
  return settings?.[1]
}
