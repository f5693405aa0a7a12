import { ApiClient, CliError } from './api.js'
import { configDir, readCredentials, writeCredentials } from './credentials.js'
import { processOutput, type Output } from './output.js'

/** What every client command works with: the server, the user's credentials for it, the terminal. */
export interface CliContext {
  url: string
  configDir: string
  output: Output
  /** The API as the logged-in user (GILGAL_TOKEN first, then what `gilgal login` kept). */
  api(): Promise<ApiClient>
}

export const DEFAULT_URL = 'http://localhost:3000'

export function createContext(
  options: { noColor?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): CliContext {
  const url = serverUrl(env.GILGAL_URL ?? DEFAULT_URL)
  const dir = configDir(env)
  return {
    url,
    configDir: dir,
    output: processOutput(options.noColor ?? false),
    async api() {
      if (env.GILGAL_TOKEN) return new ApiClient(url, { apiKey: env.GILGAL_TOKEN })
      const credentials = await readCredentials(dir, url)
      return new ApiClient(url, credentials, (renewed) => writeCredentials(dir, url, renewed))
    },
  }
}

/** `http://host:port` without a trailing slash: the key credentials are kept under. */
export function serverUrl(raw: string): string {
  try {
    const url = new URL(raw)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)')
    return url.origin + url.pathname.replace(/\/+$/, '')
  } catch {
    throw new CliError(`GILGAL_URL=${raw} is not an http(s) URL such as ${DEFAULT_URL}`, 2)
  }
}

/** `PROJECT/ENV` as users write it. */
export function parseEnvironmentRef(ref: string): { project: string; environment: string } {
  const [project, environment, ...rest] = ref.split('/')
  if (!project || !environment || rest.length > 0)
    throw new CliError(`${ref} is not PROJECT/ENVIRONMENT, such as shop/production`, 2)
  return { project, environment }
}
