import { spawn } from 'node:child_process'

/** What the tests that check deploy/prometheus/ and deploy/grafana/ need of Prometheus' tools and formats. */

const PROMTOOL_HINT =
  'promtool is not installed: `apt-get install -y --no-install-recommends prometheus` (Debian) brings it'
/** prom-client's default metrics name three gauges `*_total`: theirs to rename, not ours. */
const PROM_CLIENT_LINTS = ['handles', 'requests', 'resources'].map(
  (what) => `nodejs_active_${what}_total non-counter metrics should not have "_total" suffix`,
)
/** Series Prometheus makes itself for each target; no /metrics carries them. */
const SCRAPE_SERIES = new Set(['up'])

export interface Ran {
  code: number | null
  output: string
}

/** Runs a tool to completion; a tool that is not installed fails the test with `hint`, never skips it. */
export function runTool(
  command: string,
  args: string[],
  options: { cwd: string; hint: string; input?: string; env?: NodeJS.ProcessEnv },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error(options.hint) : error),
    )
    child.on('close', (code) => resolve({ code, output }))
    child.stdin.end(options.input ?? '')
  })
}

export function promtool(cwd: string, args: string[], input?: string): Promise<Ran> {
  return runTool('promtool', args, { cwd, hint: PROMTOOL_HINT, input })
}

/**
 * `promtool check metrics` on an exposition: the problems it finds (parse errors, lints), less
 * prom-client's own. Exit code 3 means lint problems only.
 */
export async function metricsProblems(cwd: string, exposition: string): Promise<string[]> {
  const checked = await promtool(cwd, ['check', 'metrics'], exposition)
  const problems = checked.output.split('\n').filter((line) => line.trim() !== '')
  if (checked.code !== 0 && checked.code !== 3) return [`promtool exited ${checked.code}`, ...problems]
  return problems.filter((line) => !PROM_CLIENT_LINTS.includes(line.trim()))
}

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers, ranges,
 * label lists and function calls are taken out.
 */
export function metricNamesIn(expr: string): string[] {
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan'])
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const words = [...bare.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g)].map((m) => m[0])
  return words.filter((word) => !keywords.has(word.toLowerCase()))
}

/** Metric families of an exposition, by name: `# TYPE <name> <type>`. */
export function familiesOf(exposition: string): Map<string, string> {
  const types = [...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)]
  return new Map(types.map((m) => [m[1]!, m[2]!]))
}

/** Whether a query's `name` is a series of `families` (a histogram's `_bucket`, `_sum`, `_count` too). */
export function isExported(name: string, families: Map<string, string>): boolean {
  if (families.has(name) || SCRAPE_SERIES.has(name)) return true
  const base = name.replace(/_(bucket|sum|count)$/, '')
  return base !== name && ['histogram', 'summary'].includes(families.get(base) ?? '')
}
