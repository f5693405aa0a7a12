import type { Command } from 'commander'
import { parseAllDocuments } from 'yaml'
import { CliError, type ApiClient } from '../client/api.js'
import { parseEnvironmentRef, type CliContext } from '../client/context.js'
import { readManifests } from '../client/manifests.js'
import { age, table } from '../client/output.js'
import { environmentOf } from '../client/resources.js'

interface ApiKey {
  id: string
  name: string
  scope: string
  createdAt: string
  lastUsedAt: string | null
  key?: string
}

/** delete, api-keys. */
export function registerManageCommands(program: Command, context: () => CliContext): void {
  registerDelete(program, context)
  registerApiKeys(program, context)
}

function registerDelete(program: Command, context: () => CliContext): void {
  program
    .command('delete')
    .description('request deletion: the controller tears the objects down, then they go')
    .argument('[kind]', 'project or environment')
    .argument('[name]', 'PROJECT or PROJECT/ENV')
    .option('-f, --filename <path>', 'delete what these manifests name (environments first, then projects)')
    .addHelpText(
      'after',
      '\nExamples:\n  gilgal delete environment shop/staging\n  gilgal delete -f shop.yaml',
    )
    .action(async (kind: string | undefined, name: string | undefined, options: { filename?: string }) => {
      const ctx = context()
      const api = await ctx.api()
      const targets = options.filename ? await namedIn(options.filename) : [target(kind, name)]
      for (const t of targets) ctx.output.out(await deleteOne(api, t))
    })
}

function registerApiKeys(program: Command, context: () => CliContext): void {
  const keys = program.command('api-keys').description('API keys for CI (sent as GILGAL_TOKEN)')
  keys
    .command('create')
    .argument('<name>', 'what the key is for')
    .option('--scope <scope>', 'read or write', 'write')
    .description('make a key; it is shown this once')
    .addHelpText('after', '\nExample:\n  export GILGAL_TOKEN=$(gilgal api-keys create ci --scope write)')
    .action(async (name: string, options: { scope: string }) => {
      const ctx = context()
      const key = await (
        await ctx.api()
      ).request<ApiKey>('POST', '/api/auth/api-keys', { body: { name, scope: options.scope } })
      ctx.output.err(`API key ${key.name} (${key.scope}); it is shown this once:`)
      ctx.output.out(String(key.key))
    })
  keys
    .command('list')
    .description('your keys, without their secrets')
    .addHelpText('after', '\nExample:\n  gilgal api-keys list')
    .action(async () => {
      const ctx = context()
      const { items } = await (await ctx.api()).request<{ items: ApiKey[] }>('GET', '/api/auth/api-keys')
      const rows = items.map((k) => [
        k.name,
        k.scope,
        age(k.createdAt),
        k.lastUsedAt ? age(k.lastUsedAt) : 'never',
        k.id,
      ])
      ctx.output.out(items.length ? table(['name', 'scope', 'age', 'last used', 'id'], rows) : 'no API keys')
    })
  keys
    .command('revoke')
    .argument('<id>', 'the key id (gilgal api-keys list)')
    .description('revoke a key at once')
    .addHelpText('after', '\nExample:\n  gilgal api-keys revoke 0b6f3c52-3f7e-4c1a-9a57-2d2b8f1e4c10')
    .action(async (id: string) => {
      const ctx = context()
      await (await ctx.api()).request('DELETE', `/api/auth/api-keys/${encodeURIComponent(id)}`)
      ctx.output.out(`API key ${id} revoked`)
    })
}

type Target =
  { kind: 'project'; project: string } | { kind: 'environment'; project: string; environment: string }

function target(kind: string | undefined, name: string | undefined): Target {
  if (!kind || !name)
    throw new CliError('say what to delete: project NAME, environment PROJECT/ENV, or -f FILE', 2)
  if (kind === 'project') return { kind, project: name }
  if (kind === 'environment' || kind === 'env') return { kind: 'environment', ...parseEnvironmentRef(name) }
  throw new CliError(`cannot delete ${kind}: project or environment`, 2)
}

/** The environments and projects a manifest file names; deployments are history and stay. */
async function namedIn(file: string): Promise<Target[]> {
  const documents = parseAllDocuments(await readManifests([file])).map(
    (d) => d.toJS() as { kind?: string; metadata?: { name?: string; project?: string } },
  )
  const environments = documents
    .filter((d) => d.kind === 'Environment')
    .map((d): Target => ({
      kind: 'environment',
      project: String(d.metadata?.project),
      environment: String(d.metadata?.name),
    }))
  const projects = documents
    .filter((d) => d.kind === 'Project')
    .map((d): Target => ({ kind: 'project', project: String(d.metadata?.name) }))
  return [...environments, ...projects]
}

async function deleteOne(api: ApiClient, t: Target): Promise<string> {
  if (t.kind === 'project') {
    await api.request('DELETE', `/api/projects/${encodeURIComponent(t.project)}`)
    return `project/${t.project} deletion requested`
  }
  const environment = await environmentOf(api, t)
  await api.request('DELETE', `/api/environments/${environment.metadata.id}`)
  return `environment/${t.project}/${t.environment} deletion requested`
}
