import { createInterface } from 'node:readline'
import { PassThrough } from 'node:stream'
import type Docker from 'dockerode'

export interface RuntimeLogLine {
  stream: 'stdout' | 'stderr'
  message: string
  /** The engine's timestamp (RFC 3339, nanoseconds). */
  at: string
}

/**
 * A container's stdout and stderr, line by line: the last `tail` lines, then (with `follow`) new
 * ones as they come, until `signal` aborts or the container's stream ends. The engine's 8-byte frame
 * headers are taken off by dockerode's demultiplexer.
 */
export async function* containerLogLines(
  engine: Docker,
  id: string,
  options: { tail: number; follow: boolean; signal: AbortSignal },
  /** A Swarm service's logs (every task's, fetched by the manager) rather than a container's. */
  of: 'container' | 'service' = 'container',
): AsyncGenerator<RuntimeLogLine> {
  const source = of === 'service' ? engine.getService(id) : engine.getContainer(id)
  const common = { stdout: true, stderr: true, tail: options.tail, timestamps: true }
  const raw = (await source.logs({ ...common, follow: options.follow } as Docker.ContainerLogsOptions & {
    follow: true
  })) as unknown as NodeJS.ReadableStream | Buffer
  const stream = Buffer.isBuffer(raw) ? new PassThrough().end(raw) : raw
  const queue: Array<RuntimeLogLine | null> = []
  let wake: (() => void) | undefined
  const push = (entry: RuntimeLogLine | null) => {
    queue.push(entry)
    wake?.()
  }
  const outputs = (['stdout', 'stderr'] as const).map((stream) => {
    const output = new PassThrough()
    createInterface({ input: output }).on('line', (line) => push(parseLine(stream, line)))
    return output
  })
  engine.modem.demuxStream(stream, outputs[0]!, outputs[1]!)
  const finish = () => {
    for (const output of outputs) output.end()
    setImmediate(() => push(null)) // after the last lines the readers still hold
  }
  stream.on('end', finish)
  stream.on('error', finish)
  const abort = () => {
    ;(stream as { destroy?: () => void }).destroy?.()
    finish()
  }
  options.signal.addEventListener('abort', abort, { once: true })
  try {
    for (;;) {
      const entry = queue.shift()
      if (entry === null) return
      if (entry) yield entry
      else await new Promise<void>((resolve) => (wake = resolve))
    }
  } finally {
    options.signal.removeEventListener('abort', abort)
    abort()
  }
}

function parseLine(stream: 'stdout' | 'stderr', line: string): RuntimeLogLine {
  const space = line.indexOf(' ')
  return { stream, at: line.slice(0, space), message: line.slice(space + 1) }
}

/** Docker's log stream for a container without a TTY: 8-byte frame headers before each chunk. */
export function demultiplex(output: Buffer | string): string {
  const buffer = Buffer.isBuffer(output) ? output : Buffer.from(output)
  const parts: Buffer[] = []
  let offset = 0
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4)
    parts.push(buffer.subarray(offset + 8, offset + 8 + size))
    offset += 8 + size
  }
  return Buffer.concat(parts).toString('utf8')
}
