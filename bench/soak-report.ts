/** The soak's summary: what was done, what was answered, memory, and each invariant as PASS or FAIL. */
import type { KillStats, MemoryReport, MemorySample } from './soak-chaos.js'
import type { Check } from './soak-check.js'
import type { Tally } from './soak-client.js'
import type { Convergence } from './soak-converge.js'
import type { SoakOptions } from './soak-options.js'

export interface SoakResult {
  options: SoakOptions
  environments: number
  firstRolloutSeconds: number
  loadSeconds: number
  tally: Tally
  kills: KillStats
  convergence: Convergence
  memory: MemoryReport
  afterConvergence: MemorySample
  /** Whether each sample was taken after a full GC (see soak-chaos.ts collector). */
  collected: boolean
  /** Ctrl-C cut the run short: the checks are one look, not a wait, so they fail as a run. */
  interrupted: boolean
}

// Problems shown under a FAIL line; the rest are counted.
const SHOWN = 8

/** Prints the summary; true when every invariant holds. */
export function printSummary(result: SoakResult): boolean {
  const { options, tally, kills, convergence } = result
  const line = (label: string, text: string) => console.log(`${label.padEnd(16)}${text}`)
  console.log('\n== soak summary ==')
  line('seed', `${options.seed} (again: npm run soak -- --minutes ${options.minutes} --seed ${options.seed})`)
  const first = `first rollout ${result.firstRolloutSeconds.toFixed(1)} s`
  line(
    'duration',
    `${result.loadSeconds.toFixed(0)} s of changes and kills, ${result.environments} envs (${first})`,
  )
  line('actions', counts(tally.actions))
  line('  of which', counts(tally.notes))
  line('answers', `${counts(tally.answers)} (every call: changes, and the reads of the checks)`)
  line('refused (race)', tally.refused.size > 0 ? counts(tally.refused) : 'none')
  line('failed answers', String(tally.failureCount))
  for (const failure of tally.failures) console.log(`${''.padEnd(16)}- ${failure}`)
  line('kills', `${kills.kills} (${kills.missed} missed: the container was gone or stopped already)`)
  for (const error of kills.errors) console.log(`${''.padEnd(16)}- ${error}`)
  line('revisions', counts(phaseCounts(convergence)))
  line('redeployed', redeployed(convergence))
  line('convergence', `${convergence.converged ? 'in' : 'NOT within'} ${convergence.seconds.toFixed(1)} s`)
  printMemory(result)
  const checks = [...convergence.checks, apiCheck(tally)]
  if (result.interrupted)
    checks.push({ name: 'the run was not interrupted', ok: false, problems: ['Ctrl-C'] })
  console.log('invariants')
  for (const c of checks) printCheck(c)
  const failed = checks.filter((c) => !c.ok).length
  console.log(
    failed === 0
      ? `\nPASS: all ${checks.length} invariants hold`
      : `\nFAIL: ${failed} of ${checks.length} invariants do not hold`,
  )
  return failed === 0
}

function counts(map: Map<string, number>): string {
  return (
    [...map]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, n]) => `${key} ${n}`)
      .join(', ') || 'none'
  )
}

function phaseCounts(convergence: Convergence): Map<string, number> {
  const phases = new Map<string, number>()
  for (const r of convergence.observation.revisions) phases.set(r.phase, (phases.get(r.phase) ?? 0) + 1)
  return phases
}

function redeployed(convergence: Convergence): string {
  if (convergence.redeploys.length === 0) return 'none (every newest revision became Active)'
  const each = convergence.redeploys.map(
    (r) => `${r.environment} r${r.revision} ${r.phase}${r.reason ? ` (${r.reason})` : ''}`,
  )
  return `${each.length} newest revision(s) not Active, deployed again at the end: ${each.join(', ')}`
}

function printMemory({ memory, afterConvergence, collected }: SoakResult): void {
  const { start, end } = memory
  const mb = (n: number) => `${n.toFixed(1)} MB`
  const signed = (n: number) => `${n >= 0 ? '+' : ''}${mb(n)}`
  const at = (s: MemorySample) => `t=${s.at.toFixed(0)} s`
  const gc = collected ? 'each sample after a full GC' : 'no GC before the samples: noisy'
  console.log(`memory          the whole process: API + controller (+ the soak's small bookkeeping); ${gc}`)
  const rss = [
    `${mb(start.rssMb)} (${at(start)}, after warm-up) -> ${mb(end.rssMb)} (${at(end)})`,
    `growth ${signed(end.rssMb - start.rssMb)}`,
    `peak ${mb(memory.peakRssMb)}`,
    `after convergence ${mb(afterConvergence.rssMb)}`,
  ]
  console.log(`  RSS           ${rss.join('; ')}`)
  const heap = [
    `${mb(start.heapMb)} -> ${mb(end.heapMb)}`,
    `growth ${signed(end.heapMb - start.heapMb)}`,
    `trend ${signed(memory.heapSlopeMbPerMinute)}/min`,
    `after convergence ${mb(afterConvergence.heapMb)}`,
  ]
  console.log(`  heap used     ${heap.join('; ')}`)
}

function printCheck(c: Check): void {
  console.log(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name}`)
  for (const problem of c.problems.slice(0, SHOWN)) console.log(`          - ${problem}`)
  if (c.problems.length > SHOWN) console.log(`          … and ${c.problems.length - SHOWN} more`)
}

/** Every answer of the run was a success or a refusal a race explains. */
function apiCheck(tally: Tally): Check {
  const problems = tally.failureCount > 0 ? [`${tally.failureCount} (listed under failed answers)`] : []
  return { name: 'the API answered no 5xx and no unexpected 4xx', ok: problems.length === 0, problems }
}
