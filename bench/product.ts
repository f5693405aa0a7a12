/** The whole product in this process (startServer: API + controller), as the benches that drive it run it. */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { parseConfig } from '../src/config/index.js'
import { createLogger, type Logger } from '../src/log.js'
import { startServer, type RunningServer } from '../src/main.js'
import { removeInstanceObjects } from '../test/helpers/docker.js'
import { freePort } from '../test/helpers/net.js'
import { session, type Api } from './session.js'

export interface Product {
  server: RunningServer
  /** A user of its own, registered through the API. */
  api: Api
  /** Stops the server and removes the Docker objects of its instance and its data dir. */
  stop(): Promise<void>
}

/** Starts Gilgal on `databaseUrl` as installation `instance`, once its controller leads. */
export async function startProduct(
  databaseUrl: string,
  instance: string,
  extraEnv: Record<string, string> = {},
  log: Logger = createLogger('silent'),
): Promise<Product> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `gilgal-${instance}-`))
  const port = await freePort()
  const env = {
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    GILGAL_DATA_DIR: dataDir,
    GILGAL_INSTANCE: instance,
    LOG_LEVEL: 'silent',
    ...extraEnv,
  }
  const server = await startServer(parseConfig(env), log, (error) => {
    throw error
  })
  const stop = async () => {
    await server.stop()
    await removeInstanceObjects(instance)
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    while (!server.controller?.elector.isLeader) await delay(50)
    return { server, api: await session(port, instance), stop }
  } catch (error) {
    await stop()
    throw error
  }
}
