import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export const RECONCILE_KINDS = ['Project', 'Environment', 'Deployment', 'Routes'] as const
export const RECONCILE_RESULTS = ['success', 'requeue', 'error', 'terminal'] as const
export const DOCKER_EVENT_ACTIONS = ['die', 'oom', 'health_status', 'destroy', 'stop'] as const

/**
 * Every Gilgal metric, on one Registry per process (tests make their own).
 * Known label combinations start at 0, so a dashboard sees a series before its first event.
 */
export function createMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const metrics = {
    registry,
    reconcileTotal: new Counter({
      name: 'gilgal_reconcile_total',
      help: 'Reconciles finished, by kind and result.',
      labelNames: ['kind', 'result'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'gilgal_reconcile_duration_seconds',
      help: 'Time spent in one reconcile.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    workqueueDepth: new Gauge({
      name: 'gilgal_workqueue_depth',
      help: 'Keys waiting in the work queue.',
      labelNames: ['kind'],
      registers,
    }),
    workqueueWait: new Histogram({
      name: 'gilgal_workqueue_wait_seconds',
      help: 'Time from a key being queued to its reconcile starting.',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    notifyLag: new Histogram({
      name: 'gilgal_notify_lag_seconds',
      help: 'Time from the database change (trigger clock) to its notification being received.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    leader: new Gauge({
      name: 'gilgal_leader',
      help: '1 while this process holds the controller lease.',
      registers,
    }),
    listenReconnects: new Counter({
      name: 'gilgal_listen_reconnects_total',
      help: 'Reconnections of the LISTEN connection.',
      registers,
    }),
    listenBadPayloads: new Counter({
      name: 'gilgal_listen_bad_payloads_total',
      help: 'Notifications whose payload was not a valid change.',
      registers,
    }),
    dockerEvents: new Counter({
      name: 'gilgal_docker_events_total',
      help: 'Docker events received for managed containers, by action.',
      labelNames: ['action'],
      registers,
    }),
    rollbacks: new Counter({
      name: 'gilgal_rollbacks_total',
      help: 'Revisions that failed while an older one kept or went back to serving, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    rolloutDuration: new Histogram({
      name: 'gilgal_rollout_duration_seconds',
      help: 'From a revision starting to deploy to it being Active (success) or failed (failure).',
      labelNames: ['result'],
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      registers,
    }),
    buildDuration: new Histogram({
      name: 'gilgal_build_duration_seconds',
      help: 'From a build starting to its image being ready.',
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1200],
      registers,
    }),
    containerRestarts: new Counter({
      name: 'gilgal_container_restarts_total',
      help: 'Restarts of app containers the controller has observed.',
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'gilgal_http_request_duration_seconds',
      help: 'API request latency.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
  }
  for (const kind of RECONCILE_KINDS) {
    for (const result of RECONCILE_RESULTS) metrics.reconcileTotal.inc({ kind, result }, 0)
    metrics.workqueueDepth.set({ kind }, 0)
  }
  for (const action of DOCKER_EVENT_ACTIONS) metrics.dockerEvents.inc({ action }, 0)
  metrics.leader.set(0)
  return metrics
}

export type Metrics = ReturnType<typeof createMetrics>
