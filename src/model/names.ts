/** How events and messages name a revision: `production/r3` (names never hold a slash). */
export function revisionName(environmentName: string, revision: number): string {
  return `${environmentName}/r${revision}`
}
