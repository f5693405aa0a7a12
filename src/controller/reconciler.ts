import type { Logger } from '../log.js'
import type { Kind } from '../model/kinds.js'
import type { ControllerKind, ObjectKey } from './keys.js'

/**
 * The contract every reconciler implements, after controller-runtime's `reconcile.Reconciler`. A
 * reconcile is level-triggered: it reads the whole desired row and the whole observed Docker state
 * for `key`, acts on the difference, and is a no-op when they agree.
 *
 * - Resolve to finish; `requeueAfterMs` asks to run again later (waiting on a health check, say).
 * - Throw to be retried with per-key exponential backoff.
 * - Throw `TerminalError` when retrying cannot help: no requeue.
 * - Stop promptly when `signal` aborts (shutdown, lost leadership, timeout).
 */
export interface ReconcileResult {
  requeueAfterMs?: number
}

/** Per reconcile: an id to correlate its log lines, a logger that carries it and the key. */
export interface ReconcileContext {
  reconcileId: string
  log: Logger
  /** Asks for another object to be reconciled (a built image is the environment's business next). */
  enqueue(key: ObjectKey): void
}

export interface Reconciler {
  /** `key` is already parsed and its kind is this reconciler's. */
  reconcile(key: ObjectKey, signal: AbortSignal, context: ReconcileContext): Promise<ReconcileResult>
}

/** One reconciler per kind: what a leadership term runs (a set without `Routes` treats its key as done). */
export type ReconcilerSet = Record<Kind, Reconciler> & Partial<Record<ControllerKind, Reconciler>>
