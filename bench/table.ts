/**
 * One table for every bench: each row a figure beside its baseline measured in the same run, the
 * ratio, the target and whether it is met. Rows print as each part finishes (a long run shows
 * progress), and `--json FILE` writes the same rows for machines.
 */
import { writeFile } from 'node:fs/promises'

export interface BenchRow {
  name: string
  value: number
  unit: string
  /** The same-run baseline, or null where the figure stands alone (a count, a failure total). */
  baseline: number | null
  baselineName: string | null
  ratio: number | null
  /** The target in words (`<= 1.1x + 100 ms`), or '' where the figure is reported only. */
  target: string
  /** Whether the target is met; null where there is none. */
  met: boolean | null
}

type RowInput = Omit<BenchRow, 'ratio' | 'met' | 'baseline' | 'baselineName' | 'target'> & {
  baseline?: number
  baselineName?: string
  target?: string
  met?: boolean
}

export function row(input: RowInput): BenchRow {
  const baseline = input.baseline ?? null
  return {
    name: input.name,
    value: input.value,
    unit: input.unit,
    baseline,
    baselineName: input.baselineName ?? null,
    ratio: baseline ? input.value / baseline : null,
    target: input.target ?? '',
    met: input.met ?? null,
  }
}

const COLUMNS = [
  { title: 'figure', width: 58 },
  { title: 'value', width: 12 },
  { title: 'baseline (same run)', width: 34 },
  { title: 'ratio', width: 7 },
  { title: 'target', width: 30 },
  { title: 'met', width: 3 },
]

export function printHeader(): void {
  printCells(COLUMNS.map((column) => column.title))
}

export function printRows(rows: BenchRow[]): void {
  for (const r of rows) printCells(cellsOf(r))
}

function cellsOf(r: BenchRow): string[] {
  const baseline = r.baseline === null ? '' : `${r.baselineName} ${format(r.baseline)}`
  const met = r.met === null ? '' : r.met ? 'yes' : 'NO'
  return [
    r.name,
    `${format(r.value)} ${r.unit}`,
    baseline,
    r.ratio === null ? '' : r.ratio.toFixed(2),
    r.target,
    met,
  ]
}

function printCells(cells: string[]): void {
  console.log(
    cells
      .map((cell, i) => cell.padEnd(COLUMNS[i]!.width))
      .join('  ')
      .trimEnd(),
  )
}

function format(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2)
}

export async function writeJson(file: string, rows: BenchRow[]): Promise<void> {
  await writeFile(file, `${JSON.stringify(rows, null, 2)}\n`)
}
