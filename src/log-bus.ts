import { EventEmitter } from 'node:events'

/**
 * In-process news of new deployment log lines: the writer announces a flush, followers (the API's
 * `?follow=true`) wake and read rows after their last seq. A follower in another process than the
 * writer falls back to a short poll; no NOTIFY is sent from this hot path (docs/ARCHITECTURE.md, Database).
 */
const bus = new EventEmitter()
bus.setMaxListeners(0)

export function announceLogs(deploymentId: string): void {
  bus.emit(deploymentId)
}

/** Resolves when lines are announced for the deployment, after `timeoutMs`, or when `signal` aborts. */
export function waitForLogs(deploymentId: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      bus.off(deploymentId, done)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, timeoutMs)
    bus.once(deploymentId, done)
    signal.addEventListener('abort', done, { once: true })
  })
}
