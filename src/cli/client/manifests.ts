import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { CliError } from './api.js'

const MANIFEST_FILE = /\.(ya?ml|json)$/i

/**
 * The manifests of `-f` arguments as one YAML stream: a file, every manifest file of a directory (in
 * name order, not recursive, as kubectl without -R), or `-` for standard input.
 */
export async function readManifests(sources: readonly string[]): Promise<string> {
  const documents: string[] = []
  for (const source of sources) {
    if (source === '-') documents.push(await readStdin())
    else documents.push(...(await readPath(source)))
  }
  const text = documents.map((doc) => doc.trim()).filter(Boolean)
  if (text.length === 0) throw new CliError(`no manifests in ${sources.join(', ')}`, 2)
  // JSON is YAML: one stream of documents whatever each file was written in.
  return text.map((doc) => (doc.startsWith('---') ? doc : `---\n${doc}`)).join('\n')
}

async function readPath(source: string): Promise<string[]> {
  const info = await stat(source).catch(() => {
    throw new CliError(`${source}: no such file or directory`, 2)
  })
  if (!info.isDirectory()) return [await readFile(source, 'utf8')]
  const names = (await readdir(source)).filter((name) => MANIFEST_FILE.test(name)).sort()
  return Promise.all(names.map((name) => readFile(path.join(source, name), 'utf8')))
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
