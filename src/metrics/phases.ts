import { Gauge } from 'prom-client'
import { DEPLOYMENT_PHASES, ENVIRONMENT_PHASES } from '../model/phases.js'
import type { Pool } from '../store/pool.js'
import { countByPhase } from '../store/spec-tables.js'
import type { Metrics } from './registry.js'

/**
 * `gilgal_deployments{phase}` and `gilgal_environments{phase}`: counted in the database when
 * Prometheus scrapes (two grouped counts), so they are right whichever process wrote the status.
 */
export function registerPhaseGauges(metrics: Metrics, pool: Pool): void {
  const gauge = (name: string, help: string, count: () => Promise<Map<string, number>>) =>
    new Gauge({
      name,
      help,
      labelNames: ['phase'],
      registers: [metrics.registry],
      async collect() {
        const counts = await count()
        this.reset()
        for (const [phase, value] of counts) this.set({ phase }, value)
      },
    })
  gauge('gilgal_deployments', 'Revisions by phase.', () =>
    countByPhase(pool, 'deployments', DEPLOYMENT_PHASES, 'Queued'),
  )
  gauge('gilgal_environments', 'Environments by phase.', () =>
    countByPhase(pool, 'environments', ENVIRONMENT_PHASES, 'Pending'),
  )
}
