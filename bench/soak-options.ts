/** The soak's command line (`--minutes N`, `--seed S`) and its seeded random numbers. */
import { randomInt } from 'node:crypto'

export interface SoakOptions {
  minutes: number
  seed: number
}

const USAGE = 'usage: npm run soak -- [--minutes N] [--seed S]'
// A soak longer than a day is a mistake in the number, not a plan: refuse it rather than run for weeks.
const MAX_MINUTES = 24 * 60
const MAX_SEED = 2 ** 32 - 1

/** A refusal of the command line: printed with the usage, exit code 2 (1 means an invariant failed). */
export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n${USAGE}`)
  }
}

/** `--minutes N` (default 10, fractions allowed), `--seed S` (default: a fresh one); `--x=v` works too. */
export function parseSoakArguments(argv: string[]): SoakOptions {
  const values = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!
    const [flag, inline] = argument.includes('=') ? argument.split('=', 2) : [argument, undefined]
    if (flag !== '--minutes' && flag !== '--seed') throw new UsageError(`unknown argument ${argument}`)
    if (values.has(flag)) throw new UsageError(`${flag} given twice`)
    const value = inline ?? argv[++i]
    if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`)
    values.set(flag, value)
  }
  return {
    minutes: parseMinutes(values.get('--minutes') ?? '10'),
    seed: values.has('--seed') ? parseSeed(values.get('--seed')!) : randomInt(MAX_SEED),
  }
}

function parseMinutes(text: string): number {
  // Number('') is 0 and Number('1e1') is 10: accept only plain decimals, as a person types them.
  const minutes = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : Number.NaN
  if (!(minutes > 0 && minutes <= MAX_MINUTES))
    throw new UsageError(`--minutes must be a number above 0 and at most ${MAX_MINUTES}, not ${text}`)
  return minutes
}

function parseSeed(text: string): number {
  const seed = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!(Number.isSafeInteger(seed) && seed <= MAX_SEED))
    throw new UsageError(`--seed must be a whole number from 0 to ${MAX_SEED}, not ${text}`)
  return seed
}

/**
 * mulberry32: small, fast and good enough to choose actions. Math.random cannot be seeded, and a
 * soak that found something must be repeatable with the seed it printed. (Timing still varies from
 * run to run: the same seed makes the same choices, not the same interleaving with the controller.)
 */
export class Random {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** A number in [min, max). */
  between(min: number, max: number): number {
    return min + this.next() * (max - min)
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing')
    return items[Math.floor(this.next() * items.length)]!
  }

  /** A generator of its own, derived from this one: two streams that do not shift each other's draws. */
  fork(): Random {
    return new Random(Math.floor(this.next() * 2 ** 32))
  }
}
