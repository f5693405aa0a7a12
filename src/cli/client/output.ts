import { stringify } from 'yaml'
import { CliError } from './api.js'

export type Format = 'table' | 'wide' | 'json' | 'yaml'
export const FORMATS: readonly Format[] = ['table', 'wide', 'json', 'yaml']

/** Where the CLI writes, and whether it may colour: a TTY, and neither NO_COLOR nor --no-color. */
export interface Output {
  out(text: string): void
  err(text: string): void
  color: boolean
}

export function processOutput(noColor: boolean): Output {
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !noColor,
  }
}

const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const
export type Colour = keyof typeof CODES

export function paint(output: Pick<Output, 'color'>, colour: Colour, text: string): string {
  return output.color ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text
}

/** The colour a phase is shown in: green when all is well, red when it failed, yellow on the way. */
export function phaseColour(phase: string | undefined): Colour {
  if (['Active', 'Available'].includes(phase ?? '')) return 'green'
  if (['Failed', 'Degraded', 'Cancelled'].includes(phase ?? '')) return 'red'
  return 'yellow'
}

/** Columns padded to their widest cell, headers in capitals, as kubectl prints them. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows]
  const widths = headers.map((_, column) => Math.max(...all.map((row) => visible(row[column] ?? '').length)))
  return all
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell + ' '.repeat(widths[column]! - visible(cell).length),
        )
        .join('   ')
        .trimEnd(),
    )
    .join('\n')
}

// The colour codes paint() writes take no room on screen.
const ESCAPES = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')
const visible = (text: string) => text.replace(ESCAPES, '')

/** `3s`, `5m`, `2h`, `4d`: how long ago, as kubectl's AGE column says it. */
export function age(iso: string | undefined | null, now = Date.now()): string {
  if (!iso) return '-'
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  if (seconds < 120) return `${seconds}s`
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`
  return `${Math.round(seconds / 86_400)}d`
}

/** An object (or a list) as JSON or YAML, for `-o json|yaml`. */
export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : stringify(value).trimEnd()
}

export function parseFormat(value: string): Format {
  if ((FORMATS as readonly string[]).includes(value)) return value as Format
  throw new CliError(`-o ${value} is not a format: one of ${FORMATS.join(', ')}`, 2)
}
