#!/usr/bin/env node
import { Command } from 'commander'
import { parseConfig } from '../config/index.js'
import { coerceError, GilgalError } from '../errors.js'
import { createLogger, type Logger } from '../log.js'
import { runMigrations, runSeed, startServer, type RunningServer } from '../main.js'

const SHUTDOWN_TIMEOUT_MS = 30_000

const program = new Command('gilgal').description('Gilgal: a self-hosted PaaS on Docker').showHelpAfterError()

program
  .command('server')
  .description('run the API and the controller (embedded PostgreSQL unless DATABASE_URL is set)')
  .action(async () => {
    const config = parseConfig()
    const log = createLogger(config.logLevel)
    const server = await startServer(config, log, () => process.exit(1))
    stopOnSignals(server, log)
  })

program
  .command('migrate')
  .description('apply pending database migrations and exit')
  .action(async () => {
    const config = parseConfig()
    const log = createLogger(config.logLevel)
    const applied = await runMigrations(config, log)
    log.info({ applied }, applied.length > 0 ? 'migrations applied' : 'database is up to date')
  })

program
  .command('seed')
  .description('create demo users, projects, environments, revisions and API keys (idempotent)')
  .action(async () => {
    const config = parseConfig()
    const log = createLogger(config.logLevel)
    const lines = await runSeed(config, log)
    process.stdout.write(lines.map((line) => `${line}\n`).join(''))
  })

/** First SIGINT/SIGTERM stops gracefully; a second one, or a stop that hangs, exits at once. */
function stopOnSignals(server: RunningServer, log: Logger): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    log.info({ signal }, 'stopping')
    setTimeout(() => {
      log.error('graceful stop timed out')
      process.exit(1)
    }, SHUTDOWN_TIMEOUT_MS).unref()
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'stop failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

program.parseAsync(process.argv).catch((thrown: unknown) => {
  const error = coerceError(thrown)
  // Refusals (bad config, edited migration, …) are one clear line; anything else keeps its stack.
  process.stderr.write(
    `gilgal: ${error instanceof GilgalError ? error.message : (error.stack ?? error.message)}\n`,
  )
  process.exit(1)
})
