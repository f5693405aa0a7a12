import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino'

export type { Logger }

/**
 * The root logger. Fastify gets it as `loggerInstance`; the controller derives children from it.
 * Secrets never reach the output: authorization headers and every `env`/`secretEnv` map are redacted.
 */
export function createLogger(level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'gilgal' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.password',
        '*.secretEnv',
        '*.env',
        '*.*.secretEnv',
        '*.*.env',
      ],
      censor: '[redacted]',
    },
  }
  return destination ? pino(options, destination) : pino(options)
}
