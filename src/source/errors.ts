import { GilgalError } from '../errors.js'

/** The source cannot be fetched (unreachable, unknown ref) or is refused (hostile or local). */
export class SourceError extends GilgalError {
  constructor(message: string, code = 'GILGAL_SOURCE_UNAVAILABLE') {
    super(code, 422, 'Source unavailable', message)
  }
}
