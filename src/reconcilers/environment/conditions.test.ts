import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { EnvironmentStatus } from '../../model/specs.js'
import { withConditions } from './conditions.js'

const T0 = Date.parse('2026-12-01T10:00:00Z')
const at = (ms: number) => new Date(ms).toISOString()
const byType = (status: EnvironmentStatus) =>
  Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c]))

const available: EnvironmentStatus = {
  phase: 'Available',
  activeDeployment: { id: 'r1', revision: 1 },
  targetDeployment: { id: 'r1', revision: 1 },
  replicas: { desired: 2, ready: 2, updated: 2 },
}

test('each phase reads as the three conditions Kubernetes users know', () => {
  const steady = byType(withConditions(available, {}, T0))
  assert.deepEqual(
    [steady.Available!.status, steady.Progressing!.status, steady.Degraded!.status],
    ['True', 'False', 'False'],
  )
  assert.equal(steady.Available!.reason, 'MinimumReplicasAvailable')
  assert.equal(steady.Progressing!.reason, 'RolloutComplete')

  const rolling = byType(
    withConditions(
      { ...available, phase: 'Progressing', targetDeployment: { id: 'r2', revision: 2 } },
      {},
      T0,
    ),
  )
  assert.equal(rolling.Progressing!.status, 'True')
  assert.equal(rolling.Progressing!.message, 'revision 2 is rolling out')
  assert.equal(rolling.Available!.status, 'True', 'the old revision still serves')

  const rolledBack = byType(withConditions({ ...available, phase: 'Degraded', reason: 'RolledBack' }, {}, T0))
  assert.deepEqual([rolledBack.Degraded!.status, rolledBack.Degraded!.reason], ['True', 'RolledBack'])
  assert.equal(rolledBack.Progressing!.reason, 'RolledBack')

  const nothing = byType(
    withConditions({ phase: 'Pending', replicas: { desired: 1, ready: 0, updated: 0 } }, {}, T0),
  )
  assert.deepEqual([nothing.Available!.status, nothing.Available!.reason], ['False', 'NoActiveRevision'])
})

test('lastTransitionTime moves only when a condition flips', () => {
  const first = withConditions(available, {}, T0)
  const again = withConditions(available, first, T0 + 60_000)
  assert.deepEqual(again, first, 'a steady environment writes the same status')
  const degraded = withConditions(
    { ...available, phase: 'Degraded', reason: 'CrashLoop' },
    again,
    T0 + 120_000,
  )
  assert.equal(byType(degraded).Degraded!.lastTransitionTime, at(T0 + 120_000))
  assert.equal(byType(degraded).Available!.lastTransitionTime, at(T0), 'still available since T0')
})
