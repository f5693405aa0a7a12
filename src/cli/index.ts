#!/usr/bin/env node
import { existsSync } from 'node:fs'
import { Command } from 'commander'
import { coerceError, ConfigError, GilgalError } from '../errors.js'
import type { Logger } from '../log.js'
import type { RunningServer } from '../main.js'
import { CliError } from './client/api.js'
import { createContext } from './client/context.js'
import { registerApplyCommands } from './commands/apply.js'
import { registerAuthCommands } from './commands/auth.js'
import { registerGetCommand } from './commands/get.js'
import { registerInspectCommands } from './commands/inspect.js'
import { registerManageCommands } from './commands/manage.js'
import { registerRolloutCommands } from './commands/rollout.js'

const SHUTDOWN_TIMEOUT_MS = 30_000

const program = new Command('gilgal')
  .description(
    'Gilgal: a self-hosted PaaS on Docker. Client commands talk to GILGAL_URL (default http://localhost:3000).',
  )
  .option('--no-color', 'never colour the output (NO_COLOR does the same)')
  .showHelpAfterError()

// `gilgal get … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

const context = () => createContext({ noColor: program.opts<{ color: boolean }>().color === false })
registerAuthCommands(program, context)
registerApplyCommands(program, context)
registerGetCommand(program, context)
registerInspectCommands(program, context)
registerRolloutCommands(program, context)
registerManageCommands(program, context)

program
  .command('server')
  .description('run the API and the controller (embedded PostgreSQL unless DATABASE_URL is set)')
  .action(async () => {
    const { config, log, main } = await loadDaemon()
    const server = await main.startServer(config, log, () => process.exit(1))
    stopOnSignals(server, log)
  })

program
  .command('migrate')
  .description('apply pending database migrations and exit')
  .action(async () => {
    const { config, log, main } = await loadDaemon()
    const applied = await main.runMigrations(config, log)
    log.info({ applied }, applied.length > 0 ? 'migrations applied' : 'database is up to date')
  })

program
  .command('seed')
  .description('create demo users and API keys, and deploy their demo apps (users that exist are left alone)')
  .option('--base-image <image>', "the demo apps' base image (busybox: httpd and sh)", 'busybox:1.36')
  .action(async (options: { baseImage: string }) => {
    const { config, log, main } = await loadDaemon()
    const say = (line: string) => process.stdout.write(`${line}\n`)
    await main.runSeed(config, log, { baseImage: options.baseImage, say })
  })

/**
 * The daemon's modules (Fastify, pg, dockerode, …), loaded only by the commands that run it: a client
 * command starts in a fraction of the time.
 */
async function loadDaemon() {
  loadDotEnv()
  const [{ parseConfig }, { createLogger }, main] = await Promise.all([
    import('../config/index.js'),
    import('../log.js'),
    import('../main.js'),
  ])
  const config = parseConfig()
  return { config, log: createLogger(config.logLevel), main }
}

/**
 * `.env` in the working directory, as `docker compose` reads it next to docker-compose.yml; a variable
 * the process environment sets wins (Node's own parser: no dependency).
 */
function loadDotEnv(): void {
  if (!existsSync('.env')) return
  if (typeof process.loadEnvFile !== 'function')
    throw new ConfigError('.env is read by Node.js 20.12 or newer: upgrade Node.js, or export its variables')
  try {
    process.loadEnvFile('.env')
  } catch (error) {
    throw new ConfigError(`.env could not be read: ${(error as Error).message}`)
  }
}

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
  if (thrown instanceof CliError) {
    process.stderr.write(`gilgal: ${thrown.message}\n`)
    process.exit(thrown.exitCode)
  }
  const error = coerceError(thrown)
  // Refusals (bad config, edited migration, …) are one clear line; anything else keeps its stack.
  process.stderr.write(
    `gilgal: ${error instanceof GilgalError ? error.message : (error.stack ?? error.message)}\n`,
  )
  process.exit(1)
})
