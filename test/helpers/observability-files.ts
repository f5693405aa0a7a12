import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'

/** The files of deploy/ (Grafana, Prometheus) and docs/ that the observability tests read. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const readText = (file: string) => readFile(path.join(ROOT, file), 'utf8')
export const readYaml = async (file: string) => parseYaml(await readText(file))

export interface Panel {
  id: number
  type: string
  datasource?: { uid?: string }
  targets?: Array<{ refId: string; expr: string }>
}

export async function dashboardPanels(): Promise<Panel[]> {
  const dashboard = JSON.parse(await readText('deploy/grafana/dashboards/gilgal.json'))
  return dashboard.panels.filter((panel: Panel) => panel.type !== 'row')
}

export async function dashboardExprs(): Promise<string[]> {
  return (await dashboardPanels()).flatMap((panel) => (panel.targets ?? []).map((t) => t.expr))
}

export interface AlertRule {
  alert: string
  expr: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export async function alertRules(): Promise<AlertRule[]> {
  const { groups } = await readYaml('deploy/prometheus/alerts.yml')
  return groups.flatMap((group: { rules: AlertRule[] }) => group.rules)
}

/** GitHub's anchors of a Markdown file's headings. */
export function anchorsOf(markdown: string): Set<string> {
  const headings = [...markdown.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!)
  return new Set(
    headings.map((h) =>
      h
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, '')
        .replace(/ /g, '-'),
    ),
  )
}
