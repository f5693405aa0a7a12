import type { Pool, PoolClient } from './pool.js'

type Db = Pool | PoolClient

export interface LogLine {
  seq: number
  ts: Date
  stream: 'stdout' | 'stderr' | 'system'
  level: 'debug' | 'info' | 'warn' | 'error'
  message: string
}

/** Lines of a deployment's build and rollout log after `afterSeq`, in order. */
export async function listDeploymentLogs(
  db: Db,
  deploymentId: string,
  afterSeq: number,
  limit: number,
): Promise<LogLine[]> {
  const { rows } = await db.query<LogLine & { seq: string }>(
    `select seq, ts, stream, level, message from deployment_logs where deployment_id = $1 and seq > $2 order by seq limit $3`,
    [deploymentId, afterSeq, limit],
  )
  return rows.map((row) => ({ ...row, seq: Number(row.seq) }))
}

/** The last sequence number written for a deployment (0 when none): a writer continues after it. */
export async function lastLogSeq(db: Db, deploymentId: string): Promise<number> {
  const { rows } = await db.query<{ seq: string | null }>(
    'select max(seq) as seq from deployment_logs where deployment_id = $1',
    [deploymentId],
  )
  return Number(rows[0]?.seq ?? 0)
}

/** Appends numbered lines in one statement (a batch). Never notifies: this is a hot path. */
export async function appendDeploymentLogs(
  db: Db,
  deploymentId: string,
  lines: readonly LogLine[],
): Promise<void> {
  if (lines.length === 0) return
  await db.query(
    `insert into deployment_logs (deployment_id, seq, ts, stream, level, message)
     select $1, * from unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[])`,
    [
      deploymentId,
      lines.map((l) => l.seq),
      lines.map((l) => l.ts),
      lines.map((l) => l.stream),
      lines.map((l) => l.level),
      lines.map((l) => l.message),
    ],
  )
}

/**
 * Appends the controller's own lines (stream `system`) after whatever the log holds, numbered in the
 * same statement: a rollout's steps follow its build in one log.
 */
export async function appendSystemLines(
  db: Db,
  deploymentId: string,
  lines: readonly { message: string; level: LogLine['level'] }[],
): Promise<void> {
  if (lines.length === 0) return
  await db.query(
    `insert into deployment_logs (deployment_id, seq, ts, stream, level, message)
     select $1, coalesce((select max(seq) from deployment_logs where deployment_id = $1), 0) + n, now(),
            'system', level, message
       from unnest($2::text[], $3::text[]) with ordinality as line (message, level, n)`,
    [deploymentId, lines.map((l) => l.message), lines.map((l) => l.level)],
  )
}
