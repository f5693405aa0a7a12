const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  m: 1e6,
  M: 1e6,
  g: 1e9,
  G: 1e9,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
}

/** `512Mi` → bytes, for the forms the environment schema allows (k, M, G are powers of ten). */
export function parseMemory(value: string): number {
  const [, amount = '0', unit = ''] = /^([0-9.]+)([A-Za-z]*)$/.exec(value) ?? []
  return Math.round(Number(amount) * (UNITS[unit] ?? 1))
}

/** Bytes as a person reads them: `512Mi`, `4Gi`, `6Mi`. */
export function formatMemory(bytes: number): string {
  for (const [unit, size] of [
    ['Gi', 1024 ** 3],
    ['Mi', 1024 ** 2],
    ['Ki', 1024],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(2))}${unit}`
  }
  return String(bytes)
}
