import { Gauge } from 'prom-client'
import type { Pool } from '../store/pool.js'
import type { Metrics } from './registry.js'

const DEPLOYMENT_PHASES = ['Queued', 'Building', 'Deploying', 'Active', 'Superseded', 'Failed', 'Cancelled']
const ENVIRONMENT_PHASES = ['Pending', 'Progressing', 'Available', 'Degraded', 'Failed', 'Deleting']

/**
 * `gilgal_deployments{phase}` and `gilgal_environments{phase}`: counted in the database when
 * Prometheus scrapes (two grouped counts), so they are right whichever process wrote the status.
 */
export function registerPhaseGauges(metrics: Metrics, pool: Pool): void {
  const gauge = (name: string, help: string, table: string, phases: string[]) =>
    new Gauge({
      name,
      help,
      labelNames: ['phase'],
      registers: [metrics.registry],
      async collect() {
        const { rows } = await pool.query<{ phase: string; count: string }>(
          `select coalesce(status->>'phase', 'Pending') as phase, count(*) from ${table} group by 1`,
        )
        this.reset()
        for (const phase of phases) this.set({ phase }, 0)
        for (const row of rows) this.set({ phase: row.phase }, Number(row.count))
      },
    })
  gauge('gilgal_deployments', 'Revisions by phase.', 'deployments', DEPLOYMENT_PHASES)
  gauge('gilgal_environments', 'Environments by phase.', 'environments', ENVIRONMENT_PHASES)
}
