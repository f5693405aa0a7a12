import { createHash } from 'node:crypto'

/** Everything besides the commit that decides what a build produces. */
export interface BuildInputs {
  /** The Dockerfile's content (the source's own, or the generated one). */
  dockerfile: string
  path: string
  target: string | null
  /** Build args, including public env vars baked in at build time (NEXT_PUBLIC_*, VITE_*, …). */
  buildArgs: Record<string, string>
}

/**
 * `gilgal/<project>:<commit12>-<hash8>`: an image is reused whenever a revision of the
 * project asks for the same commit with the same build inputs, so a config-only change never rebuilds.
 * The hash covers the project's id: names are unique per owner only, and one project must never run
 * (or garbage-collect) another's image. Keys are sorted so build args' order does not matter.
 */
export function imageTag(project: { id: string; name: string }, commit: string, inputs: BuildInputs): string {
  const canonical = JSON.stringify({
    project: project.id,
    dockerfile: inputs.dockerfile,
    path: inputs.path,
    target: inputs.target,
    buildArgs: Object.fromEntries(Object.entries(inputs.buildArgs).sort(([a], [b]) => a.localeCompare(b))),
  })
  const hash = createHash('sha256').update(canonical).digest('hex').slice(0, 8)
  return `gilgal/${project.name}:${commit.slice(0, 12)}-${hash}`
}

const PUBLIC_PREFIXES = ['NEXT_PUBLIC_', 'VITE_', 'REACT_APP_', 'PUBLIC_']

/**
 * The build args of a revision: `build.args`, plus env vars that front-end frameworks bake into the
 * bundle at build time. Returns the names taken from env, for the deployment's status.
 */
export function buildArgsFor(
  args: Record<string, string>,
  env: Record<string, string>,
): { buildArgs: Record<string, string>; fromEnv: string[] } {
  const fromEnv = Object.keys(env)
    .filter((name) => PUBLIC_PREFIXES.some((prefix) => name.startsWith(prefix)))
    .sort()
  const buildArgs = { ...Object.fromEntries(fromEnv.map((name) => [name, env[name]!])), ...args }
  return { buildArgs, fromEnv }
}
