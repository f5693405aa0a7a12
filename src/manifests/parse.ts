import { parseAllDocuments } from 'yaml'
import { ValidationError } from '../errors.js'
import { checkYamlShape, MAX_NODES } from './shape.js'

// Aliases beyond this many are refused before they are expanded: a "billion laughs" document is a
// few hundred bytes that would otherwise expand to gigabytes.
const MAX_ALIASES = 50
const MAX_DOCUMENTS = 200

/**
 * Turns a request body into manifest documents: YAML text (one or many `---` documents) or JSON (an
 * object or an array of them). Empty YAML documents are skipped. Syntax errors carry line and column.
 * Work grows linearly with the text (shape.ts), but a large document still takes a while: the API
 * parses YAML on a worker thread (parser.ts).
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
  // uniqueKeys: the library compares every pair of keys of a mapping (40,000 keys took 17 s);
  // checkYamlShape finds a repeated key in one pass instead.
  const documents = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: false, strict: true })
  if (!Array.isArray(documents)) return [] // an empty stream
  const budget = { nodes: MAX_NODES }
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
    checkYamlShape(document, `/documents/${index}`, budget)
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
