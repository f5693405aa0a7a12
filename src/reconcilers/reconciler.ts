import type { Logger } from '../log.js'

/**
 * The contract every reconciler implements (STYLE.md section 3, after controller-runtime's
 * `reconcile.Reconciler`). A reconcile is level-triggered: it reads the whole desired row and the whole
 * observed Docker state for `key`, acts on the difference, and is a no-op when they agree.
 *
 * - Resolve to finish; `requeueAfterMs` asks to run again later (waiting on a health check, say).
 * - Throw to be retried with per-key exponential backoff.
 * - Throw `TerminalError` when retrying cannot help: no requeue, the condition is reported in status.
 * - Stop promptly when `signal` aborts (shutdown, lost leadership, timeout).
 */
export interface ReconcileResult {
  requeueAfterMs?: number
}

/** Per reconcile: an id to correlate its log lines, and a logger that carries it and the key. */
export interface ReconcileContext {
  reconcileId: string
  log: Logger
}

export interface Reconciler {
  reconcile(key: string, signal: AbortSignal, context: ReconcileContext): Promise<ReconcileResult>
}
