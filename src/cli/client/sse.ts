/** One Server-Sent Event. */
export interface ServerEvent {
  event: string
  data: string
  id?: string
}

/**
 * The events of an SSE response body, as they arrive (the text/event-stream format: fields per line,
 * a blank line ends an event, lines starting with `:` are comments such as heartbeats).
 */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const decoder = new TextDecoder()
  let buffer = ''
  let current: Partial<ServerEvent> = {}
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '')
      buffer = buffer.slice(newline + 1)
      if (line === '') {
        if (current.data !== undefined)
          yield { event: current.event ?? 'message', data: current.data, id: current.id }
        current = {}
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'data') current.data = current.data === undefined ? value : `${current.data}\n${value}`
      else if (field === 'event') current.event = value
      else if (field === 'id') current.id = value
    }
  }
}
