import { parseAllDocuments } from 'yaml'
import { ValidationError } from '../errors.js'

// Aliases beyond this many are refused before they are expanded: a "billion laughs" document is a
// few hundred bytes that would otherwise expand to gigabytes.
const MAX_ALIASES = 50
const MAX_DOCUMENTS = 200

/**
 * Turns a request body into manifest documents: YAML text (one or many `---` documents) or JSON (an
 * object or an array of them). Empty YAML documents are skipped. Syntax errors carry line and column.
 */
export function parseManifests(body: unknown): unknown[] {
  const documents = typeof body === 'string' ? parseYaml(body) : Array.isArray(body) ? body : [body]
  if (documents.length === 0)
    throw new ValidationError('the request holds no manifest', [{ path: '/documents', message: 'is empty' }])
  if (documents.length > MAX_DOCUMENTS) {
    throw new ValidationError(`the request holds more than ${MAX_DOCUMENTS} manifests`, [
      { path: '/documents', message: `must hold at most ${MAX_DOCUMENTS} documents` },
    ])
  }
  return documents
}

function parseYaml(text: string): unknown[] {
  const documents = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, strict: true })
  if (!Array.isArray(documents)) return [] // an empty stream
  return documents.flatMap((document, index) => {
    const error = document.errors[0]
    if (error) {
      const [line, column] = [error.linePos?.[0].line, error.linePos?.[0].col]
      const where = line === undefined ? '' : ` at line ${line}, column ${column}`
      const message = `is not valid YAML${where}: ${error.message.split('\n')[0]}`
      throw new ValidationError(
        `document ${index} ${message}`,
        [{ path: `/documents/${index}`, message }],
        'GILGAL_BAD_YAML',
      )
    }
    let value: unknown
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIASES })
    } catch {
      const message = `uses too many aliases (at most ${MAX_ALIASES} expansions)`
      throw new ValidationError(
        `document ${index} ${message}`,
        [{ path: `/documents/${index}`, message }],
        'GILGAL_BAD_YAML',
      )
    }
    return value === null || value === undefined ? [] : [value]
  })
}
