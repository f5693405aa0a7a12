import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export interface VersionInfo {
  version: string
  commit: string | null
  node: string
}

const packageRoot = fileURLToPath(new URL('..', import.meta.url))

/**
 * What `/version` reports. The commit comes from GILGAL_GIT_COMMIT (set by image builds, which have no
 * .git) or else from git in the package directory; unknown is null, never a guess.
 */
export async function readVersionInfo(env: NodeJS.ProcessEnv = process.env): Promise<VersionInfo> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return {
    version: pkg.version,
    commit: env.GILGAL_GIT_COMMIT ?? (await readGitCommit()),
    node: process.version,
  }
}

async function readGitCommit(): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)('git', ['-C', packageRoot, 'rev-parse', 'HEAD'], {
      timeout: 2000,
    })
    return stdout.trim() || null
  } catch {
    return null
  }
}
