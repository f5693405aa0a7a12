// The other half of the NOTIFY ping-pong baseline (bench/wakeup.ts): answers every ping with a pong.
import pg from 'pg'

const client = new pg.Client({ connectionString: process.argv[2] })
await client.connect()
client.on(
  'notification',
  (message) => void client.query('select pg_notify($1, $2)', ['bench_pong', message.payload ?? '']),
)
await client.query('listen bench_ping')
process.stdout.write('ready\n')
process.on('SIGTERM', () => void client.end().then(() => process.exit(0)))
