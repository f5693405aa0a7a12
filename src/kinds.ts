/** The resource kinds (DESIGN.md section 1): manifests, tables and work-queue keys share them. */
export const KINDS = ['Project', 'Environment', 'Deployment'] as const
export type Kind = (typeof KINDS)[number]
