import type { Command } from 'commander'
import { ApiClient, CliError } from '../client/api.js'
import type { CliContext } from '../client/context.js'
import { readCredentials, writeCredentials } from '../client/credentials.js'

interface Session {
  user: { username: string; email: string }
  accessToken: string
  refreshToken: string
}

/** login, logout, whoami. */
export function registerAuthCommands(program: Command, context: () => CliContext): void {
  registerLogin(program, context)
  registerLogout(program, context)
  registerWhoami(program, context)
}

function registerLogin(program: Command, context: () => CliContext): void {
  program
    .command('login')
    .description('log in to the server at GILGAL_URL and keep the session (mode 0600)')
    .requiredOption('-e, --email <email>', 'your account email')
    .option('--password-stdin', 'read the password from standard input (for scripts)')
    .addHelpText('after', '\nExample:\n  echo "$PASSWORD" | gilgal login -e ada@example.com --password-stdin')
    .action(async (options: { email: string; passwordStdin?: boolean }) => {
      const ctx = context()
      const password = await readPassword(Boolean(options.passwordStdin))
      const session = await new ApiClient(ctx.url, undefined).request<Session>('POST', '/api/auth/login', {
        body: { email: options.email, password },
        anonymous: true,
      })
      await writeCredentials(ctx.configDir, ctx.url, {
        username: session.user.username,
        accessToken: session.accessToken,
        refreshToken: session.refreshToken,
      })
      ctx.output.out(`logged in to ${ctx.url} as ${session.user.username}`)
    })
}

function registerLogout(program: Command, context: () => CliContext): void {
  program
    .command('logout')
    .description('end the session on the server and forget it here')
    .addHelpText('after', '\nExample:\n  gilgal logout')
    .action(async () => {
      const ctx = context()
      const credentials = await readCredentials(ctx.configDir, ctx.url)
      if (credentials?.refreshToken) {
        // Revoked on the server too; if it cannot be reached, the local copy goes anyway.
        await new ApiClient(ctx.url, credentials)
          .request('POST', '/api/auth/logout', { body: { refreshToken: credentials.refreshToken } })
          .catch(() => undefined)
      }
      await writeCredentials(ctx.configDir, ctx.url, undefined)
      ctx.output.out(`logged out of ${ctx.url}`)
    })
}

function registerWhoami(program: Command, context: () => CliContext): void {
  program
    .command('whoami')
    .description('who the server says you are')
    .addHelpText('after', '\nExample:\n  GILGAL_URL=https://gilgal.example.com gilgal whoami')
    .action(async () => {
      const ctx = context()
      const me = await (await ctx.api()).request<{ username: string; email: string }>('GET', '/api/auth/me')
      ctx.output.out(`${me.username} <${me.email}> on ${ctx.url}`)
    })
}

/** From standard input (`--password-stdin`), or typed at a terminal without echo. */
async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    const password = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '')
    if (!password) throw new CliError('no password on standard input', 2)
    return password
  }
  return promptHidden('password: ')
}

/** A line typed at the terminal, not echoed; Ctrl-C cancels. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin
  process.stderr.write(question)
  stdin.setRawMode(true)
  stdin.setEncoding('utf8')
  stdin.resume()
  let typed = ''
  return new Promise((resolve, reject) => {
    const finish = () => {
      stdin.setRawMode(false)
      stdin.pause()
      stdin.off('data', onKeys)
      process.stderr.write('\n')
    }
    const onKeys = (keys: string) => {
      for (const key of keys) {
        if (key === '\r' || key === '\n' || key === '\u0003') {
          finish()
          if (key === '\u0003') reject(new CliError('cancelled', 130))
          else resolve(typed)
          return
        }
        typed = key === '\u007f' ? typed.slice(0, -1) : typed + key
      }
    }
    stdin.on('data', onKeys)
  })
}
