import type { Logger } from '../log.js'
import { listen, type ListenConnection } from '../store/listen.js'

export const WATCH_CHANNEL = 'gilgal_watch'

type Listener = (value: unknown) => void

interface Watched {
  read: () => Promise<unknown>
  listeners: Set<Listener>
  /** A read is under way; `again` asks for one more after it (a change came in meanwhile). */
  reading: boolean
  again: boolean
}

/**
 * One LISTEN connection per API process for every watch (`?watch=true`). A notification names an
 * object (`Kind/id`); the hub reads it once, whatever the number of watchers, and hands the result to
 * each of them. Reads of one object never overlap: changes that arrive during a read are served by one
 * more read after it. After a reconnect every watched object is read again (notifications sent while
 * away are gone).
 */
export class WatchHub {
  private readonly watched = new Map<string, Watched>()
  /** What ends each open watch stream when the process shuts down. */
  private readonly closers = new Set<() => void>()
  private readonly connection: ListenConnection
  /** Reads made for watchers so far: one per change of a watched object, not one per watcher. */
  reads = 0

  constructor(
    url: string,
    private readonly log: Logger,
  ) {
    this.connection = listen({
      url,
      channel: WATCH_CHANNEL,
      onPayload: (payload) => this.receive(payload),
      onConnected: () => {
        for (const key of this.watched.keys()) this.refresh(key)
      },
      onReconnect: (attempt) => log.warn({ attempt }, 'watch connection lost: reconnecting'),
      // Watchers see no more changes until it is back; the process itself goes on serving.
      onFatal: (error) => log.error({ err: error }, 'watch connection lost for good'),
    })
  }

  start(): Promise<void> {
    return this.connection.start()
  }

  stop(): Promise<void> {
    this.closeAll()
    return this.connection.stop()
  }

  /** Registers what ends a watch stream on shutdown; returns the function that unregisters it. */
  onShutdown(close: () => void): () => void {
    this.closers.add(close)
    return () => this.closers.delete(close)
  }

  /** Ends every open watch stream: a graceful stop does not wait for streams that never end. */
  closeAll(): void {
    for (const close of [...this.closers]) close()
  }

  /**
   * Calls `onChange` with what `read` returns each time `key` changes (undefined: it is gone). The
   * first watcher of a key supplies the read the others share. Returns the function that stops it.
   */
  watch<T>(
    key: string,
    read: () => Promise<T | undefined>,
    onChange: (value: T | undefined) => void,
  ): () => void {
    let entry = this.watched.get(key)
    if (!entry) {
      entry = { read, listeners: new Set(), reading: false, again: false }
      this.watched.set(key, entry)
    }
    const listener = onChange as Listener
    entry.listeners.add(listener)
    return () => {
      entry.listeners.delete(listener)
      if (entry.listeners.size === 0 && this.watched.get(key) === entry) this.watched.delete(key)
    }
  }

  private receive(payload: string): void {
    try {
      const { kind, id } = JSON.parse(payload) as { kind?: string; id?: string }
      if (kind && id) this.refresh(`${kind}/${id}`)
    } catch {
      // Not ours: nothing watches it.
    }
  }

  private refresh(key: string): void {
    const entry = this.watched.get(key)
    if (!entry) return
    if (entry.reading) {
      entry.again = true
      return
    }
    entry.reading = true
    void this.readFor(entry)
  }

  private async readFor(entry: Watched): Promise<void> {
    do {
      entry.again = false
      this.reads++
      try {
        const value = await entry.read()
        for (const listener of entry.listeners) listener(value)
      } catch (error) {
        // The next change (or reconnect) reads again; a failed read is not a deletion.
        this.log.warn({ err: error }, 'watch read failed')
      }
    } while (entry.again)
    entry.reading = false
  }
}
