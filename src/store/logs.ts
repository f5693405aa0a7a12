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
