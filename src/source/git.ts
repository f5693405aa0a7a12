import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { sourceDirectory } from './checkout.js'
import { OutboundRefusedError, resolvePublic } from '../net/outbound.js'
import { SourceError } from './errors.js'

const run = promisify(execFile)

export interface GitOptions {
  /** GILGAL_ALLOW_LOCAL_SOURCES: file:// and absolute paths. */
  allowLocal: boolean
  /** GILGAL_ALLOW_PRIVATE_SOURCES: remotes at addresses inside this server's networks. */
  allowPrivate: boolean
  /** For an https remote: sent as an Authorization header, never in the URL, a file or an argument. */
  credentials?: { username: string; password: string }
  timeoutMs?: number
  signal?: AbortSignal
}

// As the schema's gitUrl: no credentials in a URL (they would be stored, shown and logged with it).
const REMOTE =
  /^(https:\/\/(?![^/]*@)[A-Za-z0-9]|ssh:\/\/(?![^/]*:[^/]*@)[A-Za-z0-9]|git@[A-Za-z0-9][A-Za-z0-9.-]*:[A-Za-z0-9~_./])[^\s]*$/
const LOCAL = /^(file:\/\/\/|\/)[^\s]*$/
const REF = /^(?!-)(?!\/)(?!.*\.\.)(?!.*\/\/)(?!.*\.lock$)(?!.*\/$)[A-Za-z0-9._/-]{1,200}$/
const COMMIT = /^[0-9a-f]{40}$/

/**
 * Refuses a source before any git process starts: only https, ssh and scp-like URLs (local ones only
 * when allowed), never `ext::` or anything git could take for an option, and refs that cannot be one.
 */
export function assertSafeSource(url: string, ref: string, allowLocal: boolean): void {
  const local = LOCAL.test(url)
  if (!REMOTE.test(url) && !local)
    throw new SourceError(`git URL ${JSON.stringify(shown(url))} is not allowed`, 'GILGAL_SOURCE_REFUSED')
  if (local && !allowLocal) {
    throw new SourceError(
      'local git sources are refused (GILGAL_ALLOW_LOCAL_SOURCES=false)',
      'GILGAL_SOURCE_REFUSED',
    )
  }
  if (!REF.test(ref))
    throw new SourceError(`git ref ${JSON.stringify(ref)} is not allowed`, 'GILGAL_SOURCE_REFUSED')
}

/** Whether `url` is a local source (file:// or a path) inside `root`. */
export function isLocalSourceInside(url: string, root: string): boolean {
  if (!LOCAL.test(url) || /[?#%]/.test(url)) return false // git would read those literally, URL not
  try {
    const target = path.resolve(url.startsWith('file://') ? fileURLToPath(url) : url)
    return target.startsWith(path.resolve(root) + path.sep)
  } catch {
    return false
  }
}

/**
 * git with the dangerous parts off: no ext:: transport, the file transport only for allowed local
 * sources, no terminal prompts or credential helpers, no system or user config, and a timeout.
 */
async function git(args: string[], options: GitOptions, cwd?: string, extra: string[] = []): Promise<string> {
  const config = [
    ...extra,
    '-c',
    'protocol.ext.allow=never',
    '-c',
    `protocol.file.allow=${options.allowLocal ? 'always' : 'never'}`,
    '-c',
    'credential.helper=',
    '-c',
    'core.askPass=',
  ]
  const env = {
    PATH: process.env.PATH,
    HOME: '/nonexistent',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    // The operator's own certificate authority, for remotes behind it.
    ...(process.env.GIT_SSL_CAINFO ? { GIT_SSL_CAINFO: process.env.GIT_SSL_CAINFO } : {}),
    ...credentialConfig(options.credentials),
  }
  const { stdout } = await run('git', [...config, ...args], {
    cwd,
    env,
    timeout: options.timeoutMs ?? 120_000,
    signal: options.signal,
    maxBuffer: 16 * 1024 * 1024,
  })
  return stdout
}

/** The commit a ref names on the remote: a branch, a tag (peeled), HEAD, or a full commit id as is. */
export async function resolveCommit(url: string, ref: string, options: GitOptions): Promise<string> {
  assertSafeSource(url, ref, options.allowLocal)
  if (COMMIT.test(ref)) return ref
  const pinned = await checkRemote(url, options)
  let listing: string
  try {
    listing = await git(['ls-remote', '--', url, ref, `refs/tags/${ref}^{}`], options, undefined, pinned)
  } catch (error) {
    throw new SourceError(`cannot reach ${shown(url)}: ${firstLine(error)}`)
  }
  const refs = new Map(
    listing
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t').reverse() as [string, string]),
  )
  const commit =
    refs.get(`refs/tags/${ref}^{}`) ??
    refs.get(`refs/heads/${ref}`) ??
    refs.get(`refs/tags/${ref}`) ??
    refs.get(ref)
  if (!commit) throw new SourceError(`ref ${ref} not found in ${shown(url)}`)
  return commit
}

/**
 * Fetches exactly `commit` (depth 1) into a new directory under `workRoot` and returns the directory
 * of `subpath` in it. The caller deletes the workspace (`removeWorkspace`) when done.
 */
export async function fetchCommit(
  url: string,
  commit: string,
  workRoot: string,
  subpath: string,
  options: GitOptions,
): Promise<{ workspace: string; sourceDir: string }> {
  assertSafeSource(url, commit, options.allowLocal)
  const pinned = await checkRemote(url, options)
  await mkdir(workRoot, { recursive: true })
  const workspace = await mkdtemp(path.join(workRoot, 'build-'))
  try {
    await git(['init', '--quiet', workspace], options)
    // No tags, no auto-maintenance: the workspace lives for one build, so nothing else is worth a process.
    const once = ['--no-tags', '--no-auto-maintenance', '--no-auto-gc']
    await git(['fetch', '--quiet', ...once, '--depth', '1', '--', url, commit], options, workspace, pinned)
    await git(['checkout', '--quiet', '--detach', 'FETCH_HEAD'], options, workspace)
  } catch (error) {
    await removeWorkspace(workspace)
    throw new SourceError(`cannot fetch ${commit.slice(0, 12)} from ${shown(url)}: ${firstLine(error)}`)
  }
  try {
    return { workspace, sourceDir: await sourceDirectory(workspace, subpath) }
  } catch (error) {
    await removeWorkspace(workspace)
    throw error
  }
}

/**
 * Credentials as git configuration in the child's environment (GIT_CONFIG_COUNT…), where no other
 * user of the host can read them, unlike arguments. Redirects are not followed, so the header goes to
 * the remote it was given for and nowhere else.
 */
function credentialConfig(credentials: GitOptions['credentials']): Record<string, string> {
  if (!credentials) return {}
  const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')
  return {
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    GIT_CONFIG_KEY_1: 'http.followRedirects',
    GIT_CONFIG_VALUE_1: 'false',
  }
}

/**
 * Refuses a remote whose host resolves inside this server's networks (unless allowed), and pins an
 * https remote to the addresses just checked, so a second lookup cannot answer otherwise. (ssh
 * resolves by itself: it is checked, not pinned.) Answers git's extra configuration.
 */
async function checkRemote(url: string, options: GitOptions): Promise<string[]> {
  if (LOCAL.test(url)) return []
  const { host, port } = remoteHost(url)
  try {
    const addresses = await resolvePublic(host, options.allowPrivate)
    if (addresses.length === 0 || !url.startsWith('https://')) return []
    return ['-c', `http.curloptResolve=${host.replace(/^\[|\]$/g, '')}:${port}:${addresses.join(',')}`]
  } catch (error) {
    if (error instanceof OutboundRefusedError)
      throw new SourceError(`git remote ${error.message}`, 'GILGAL_SOURCE_REFUSED')
    throw error
  }
}

/** The host (and port) of a remote: https://host[:port]/…, ssh://[user@]host[:port]/…, user@host:path. */
function remoteHost(url: string): { host: string; port: number } {
  let host: string
  let port = 22
  if (url.startsWith('https://') || url.startsWith('ssh://')) {
    const parsed = new URL(url)
    host = parsed.hostname
    port = Number(parsed.port) || (url.startsWith('https://') ? 443 : 22)
  } else {
    host = url.slice(url.indexOf('@') + 1, url.indexOf(':'))
  }
  // git decodes %-escapes in an ssh host that the URL parser keeps (`%31%32%37.0.0.1`): only a plain
  // name or address is checked, and so only one is fetched from.
  if (!/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$/.test(host))
    throw new SourceError(
      `git remote host ${JSON.stringify(host)} is not a plain host name`,
      'GILGAL_SOURCE_REFUSED',
    )
  return { host, port }
}

/** A URL as messages show it: whatever precedes `@` in its authority (credentials, if any) is not. */
function shown(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^/]*@/, '$1***@')
}

export async function removeWorkspace(workspace: string): Promise<void> {
  await rm(workspace, { recursive: true, force: true })
}

function firstLine(error: unknown): string {
  const text = (error as { stderr?: string }).stderr || (error as Error).message || String(error)
  return text.trim().split('\n').filter(Boolean).at(-1) ?? 'git failed'
}
