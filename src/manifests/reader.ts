import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import { GilgalError, ValidationError } from '../errors.js'
import type { ManifestFormat } from './read.js'
import type { ReadResult, ReadTask } from './read-worker.js'
import type { Manifest, WritePolicy } from './validate.js'

/** Reads request bodies into validated manifests off the event loop. */
export interface ManifestReader {
  /** `caller`'s reads run one at a time, so one caller cannot fill the thread's queue. */
  read(text: string, format: ManifestFormat, policy: WritePolicy, caller: string): Promise<Manifest[]>
  close(): Promise<void>
}

// Same extension as this file: .ts under tsx (tests, dev), .js once built.
const workerFile = fileURLToPath(
  new URL(`./read-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url),
)

/**
 * One worker thread parses and validates: the largest body the API accepts (1 MiB) takes about a
 * second, during which the event loop keeps answering. Requests queue for the thread, one per caller
 * at a time, rather than take more cores from the apps; only the validated manifests (bounded by the
 * schemas) come back. The thread starts at the first read and stops after 30 s without one.
 */
export function createManifestReader(): ManifestReader {
  const pool = new Piscina<ReadTask, ReadResult>({
    filename: workerFile,
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 30_000,
  })
  const previous = new Map<string, Promise<unknown>>()
  // A caller's next read waits for their last one: the thread's queue then holds at most one read per
  // caller, so whoever sends the largest bodies as fast as allowed delays another by one read at most.
  const oneAtATime = <T>(caller: string, work: () => Promise<T>): Promise<T> => {
    const run = (previous.get(caller) ?? Promise.resolve()).then(work, work)
    const settled = run.catch(() => undefined)
    previous.set(caller, settled)
    void settled.then(() => previous.get(caller) === settled && previous.delete(caller))
    return run
  }
  return {
    async read(text, format, policy, caller) {
      const result = await oneAtATime(caller, () => pool.run({ text, format, policy }))
      if ('manifests' in result) return result.manifests
      const { code, status, title, message, errors } = result.refused
      throw errors
        ? new ValidationError(message, errors, code)
        : new GilgalError(code, status, title, message)
    },
    close: () => pool.destroy(),
  }
}
