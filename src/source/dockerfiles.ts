import type { Detection, PackageManager } from './detect.js'

/** Base images of generated Dockerfiles; configurable so an offline engine can use local ones. */
export interface BaseImages {
  node: string
  python: string
  php: string
  /** Serves a directory of files on port 8080 as a non-root user. */
  static: string
}

export const DEFAULT_BASE_IMAGES: BaseImages = {
  node: 'node:20-bookworm-slim',
  python: 'python:3.12-slim',
  php: 'php:8.3-cli',
  static: 'nginxinc/nginx-unprivileged:1.27-alpine',
}

export interface GeneratedDockerfile {
  dockerfile: string
  /** The port the app listens on unless the environment says otherwise. */
  port: number
}

const INSTALL: Record<PackageManager, string> = {
  npm: 'npm ci',
  yarn: 'corepack enable && yarn install --frozen-lockfile',
  pnpm: 'corepack enable && pnpm install --frozen-lockfile',
}

/**
 * A multi-stage, cache-friendly Dockerfile for a detected framework: dependencies are installed from
 * the manifest and lock file alone (so a code change reuses that layer), the app is built in its own
 * stage, and the runtime stage is slim and runs as a non-root user.
 */
export function generateDockerfile(
  detection: Detection,
  images: BaseImages = DEFAULT_BASE_IMAGES,
): GeneratedDockerfile {
  switch (detection.framework) {
    case 'nextjs':
    case 'node':
    case 'svelte':
      return detection.outputDir ? staticApp(detection, images) : nodeServer(detection, images)
    case 'react':
    case 'vue':
      return staticApp(detection, images)
    case 'django':
      return python(
        images,
        ['gunicorn', `${detection.wsgiModule ?? 'config'}.wsgi`, '--bind', '0.0.0.0:8000'],
        ['RUN python manage.py collectstatic --noinput || true'],
      )
    case 'flask':
      return python(images, ['gunicorn', 'app:app', '--bind', '0.0.0.0:8000'], [])
    case 'laravel':
      return laravel(images)
    case 'static':
      return {
        dockerfile: lines(`FROM ${images.static}`, 'COPY . /usr/share/nginx/html', 'EXPOSE 8080'),
        port: 8080,
      }
    case 'dockerfile':
      throw new Error('the source has its own Dockerfile: nothing to generate')
  }
}

function dependencyStage(detection: Detection, images: BaseImages): string[] {
  const manager = detection.packageManager ?? 'npm'
  const install = detection.lockfile ? INSTALL[manager] : 'npm install'
  return [
    `FROM ${images.node} AS deps`,
    'WORKDIR /app',
    `COPY ${['package.json', detection.lockfile, './'].filter(Boolean).join(' ')}`,
    `RUN ${install}`,
    '',
    'FROM deps AS build',
    'COPY . .',
    ...(detection.scripts?.build ? [`RUN ${manager} run build`] : []),
  ]
}

function nodeServer(detection: Detection, images: BaseImages): GeneratedDockerfile {
  const port = 3000
  const start = startCommand(detection)
  const dockerfile = lines(
    ...dependencyStage(detection, images),
    '',
    `FROM ${images.node} AS runtime`,
    'WORKDIR /app',
    `ENV NODE_ENV=production PORT=${port}`,
    'COPY --from=build --chown=1000:1000 /app ./',
    'USER 1000',
    `EXPOSE ${port}`,
    `CMD ${JSON.stringify(start)}`,
  )
  return { dockerfile, port }
}

/** Next.js serves itself; SvelteKit's node adapter builds to build/; otherwise `npm start` or main. */
function startCommand(detection: Detection): string[] {
  if (detection.framework === 'nextjs') return ['npx', 'next', 'start']
  if (detection.framework === 'svelte') return ['node', 'build']
  return detection.scripts?.start ? ['npm', 'start'] : ['node', '.']
}

function staticApp(detection: Detection, images: BaseImages): GeneratedDockerfile {
  const dockerfile = lines(
    ...dependencyStage(detection, images),
    '',
    `FROM ${images.static} AS runtime`,
    `COPY --from=build /app/${detection.outputDir ?? 'dist'} /usr/share/nginx/html`,
    'EXPOSE 8080',
  )
  return { dockerfile, port: 8080 }
}

function python(images: BaseImages, command: string[], extra: string[]): GeneratedDockerfile {
  const dockerfile = lines(
    `FROM ${images.python} AS runtime`,
    'WORKDIR /app',
    'ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=8000',
    'COPY requirements.txt ./',
    'RUN pip install --no-cache-dir -r requirements.txt gunicorn',
    'COPY . .',
    ...extra,
    'RUN useradd --uid 1000 --no-create-home app',
    'USER 1000',
    'EXPOSE 8000',
    `CMD ${JSON.stringify(command)}`,
  )
  return { dockerfile, port: 8000 }
}

function laravel(images: BaseImages): GeneratedDockerfile {
  const dockerfile = lines(
    `FROM ${images.php} AS runtime`,
    'WORKDIR /app',
    'COPY --from=composer:2 /usr/bin/composer /usr/bin/composer',
    'COPY composer.json composer.lock* ./',
    'RUN composer install --no-dev --no-scripts --no-autoloader --prefer-dist',
    'COPY . .',
    'RUN composer dump-autoload --optimize && chown -R 1000:1000 storage bootstrap/cache',
    'USER 1000',
    'EXPOSE 8000',
    'CMD ["php", "artisan", "serve", "--host=0.0.0.0", "--port=8000"]',
  )
  return { dockerfile, port: 8000 }
}

function lines(...content: string[]): string {
  return `${content.join('\n')}\n`
}
