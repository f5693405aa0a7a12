/** The resource kinds: manifests, tables, events and work-queue keys share them. */
export const KINDS = ['Project', 'Environment', 'Deployment'] as const
export type Kind = (typeof KINDS)[number]

export function isKind(value: unknown): value is Kind {
  return (KINDS as readonly unknown[]).includes(value)
}
