import type { DeploymentPhase } from '../../model/phases.js'
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Action, EnvironmentView, ObservedContainer, RevisionView } from './model.js'
import { CRASH_LOOP_RECHECK_MS, CRASH_LOOP_RECOVERED_MS } from './model.js'
import { planEnvironment } from './plan.js'

const T0 = Date.parse('2026-11-25T12:00:00Z')
const iso = (ms: number) => new Date(ms).toISOString()

function env(overrides: Partial<EnvironmentView> = {}): EnvironmentView {
  return {
    id: 'env',
    replicas: 1,
    paused: false,
    rollout: {
      strategy: 'StartFirst',
      progressDeadlineSeconds: 60,
      autoRollback: true,
      drainSeconds: 5,
      monitorSeconds: 30,
      revisionHistoryLimit: 10,
    },
    status: {},
    ...overrides,
  }
}

function revision(n: number, phase: DeploymentPhase, status: RevisionView['status'] = {}): RevisionView {
  return { id: `r${n}`, revision: n, phase, imageId: `sha256:${n}`, cancelRequested: false, status }
}

function container(
  deploymentId: string,
  index = 0,
  overrides: Partial<ObservedContainer> = {},
): ObservedContainer {
  return {
    id: `${deploymentId}-c${index}`,
    name: `app-${deploymentId}-${index}`,
    deploymentId,
    index,
    running: true,
    restarting: false,
    restartCount: 0,
    startedAt: undefined,
    exitCode: 0,
    verdict: 'healthy',
    lastProbeError: undefined,
    url: `http://127.0.0.1:${1000 + index}`,
    upstream: `10.0.${deploymentId.slice(1)}.${index + 2}:8080`,
    ...overrides,
  }
}

const types = (actions: Action[]) =>
  actions.map((a) =>
    'containerId' in a
      ? `${a.type}:${a.containerId}`
      : a.type === 'create'
        ? `create:${a.deploymentId}/${a.index}`
        : `revision:${a.deploymentId}:${String(a.patch.phase ?? Object.keys(a.patch))}`,
  )

describe('environment planner', () => {
  test('a first revision, built: Deploying, and its containers are created', () => {
    const plan = planEnvironment(env({ replicas: 2 }), [revision(1, 'Building')], [], T0)
    assert.deepEqual(types(plan.actions), ['revision:r1:Deploying', 'create:r1/0', 'create:r1/1'])
    assert.equal(plan.status.phase, 'Progressing')
  })

  test('nothing is deployed while the target is still building; the active one keeps serving', () => {
    const building = { ...revision(2, 'Building'), imageId: undefined }
    const plan = planEnvironment(env(), [revision(1, 'Active'), building], [container('r1')], T0)
    assert.deepEqual(plan.actions, [])
    assert.deepEqual(plan.status.urls, ['http://127.0.0.1:1000'])
    assert.deepEqual(plan.status.upstreams, ['10.0.1.2:8080'], 'the old ones, never the failed one')
  })

  test('start-first: routes switch only once the new containers are healthy, the old drain, then stop', () => {
    const old = revision(1, 'Active')
    const starting = revision(2, 'Deploying', { deployStartedAt: iso(T0) })
    const waiting = planEnvironment(
      env(),
      [old, starting],
      [container('r1'), container('r2', 0, { verdict: 'starting' })],
      T0 + 1000,
    )
    assert.deepEqual(waiting.actions, [])
    assert.deepEqual(waiting.status.urls, ['http://127.0.0.1:1000'], 'still the old containers')
    assert.deepEqual(waiting.status.upstreams, ['10.0.1.2:8080'], 'traffic still goes to the old ones')

    const healthyNew = container('r2', 0, { url: 'http://127.0.0.1:2000' })
    const switching = planEnvironment(env(), [old, starting], [container('r1'), healthyNew], T0 + 2000)
    assert.deepEqual(types(switching.actions), ['revision:r2:switchedAt,restartsAtSwitch'])
    assert.deepEqual(switching.status.urls, ['http://127.0.0.1:2000'])
    assert.deepEqual(switching.status.upstreams, ['10.0.2.2:8080'], 'the switch routes to the new ones')
    assert.equal(switching.requeueAfterMs, 5000, 'the drain')

    const switched = revision(2, 'Deploying', { deployStartedAt: iso(T0), switchedAt: iso(T0 + 2000) })
    const draining = planEnvironment(env(), [old, switched], [container('r1'), healthyNew], T0 + 4000)
    assert.deepEqual(draining.actions, [], 'the old containers keep serving in-flight requests')
    const stopping = planEnvironment(env(), [old, switched], [container('r1'), healthyNew], T0 + 7000)
    assert.deepEqual(types(stopping.actions), ['stop:r1-c0'])
    assert.deepEqual(stopping.status.upstreams, ['10.0.2.2:8080'], 'nothing routes to what stops')
    assert.equal(stopping.status.phase, 'Progressing', 'not Active before the old containers have stopped')
    const stopped = container('r1', 0, { running: false })
    const done = planEnvironment(env(), [old, switched], [stopped, healthyNew], T0 + 7500)
    assert.deepEqual(types(done.actions), ['revision:r2:Active', 'revision:r1:Superseded'])
    assert.equal(done.status.phase, 'Available')
    assert.deepEqual(done.status.activeDeployment, { id: 'r2', revision: 2 })
  })

  test('a revision never healthy by its deadline fails with the last probe error; the old one serves on', () => {
    const failing = container('r2', 0, { verdict: 'unhealthy', lastProbeError: 'GET / answered 500' })
    const plan = planEnvironment(
      env(),
      [revision(1, 'Active'), revision(2, 'Deploying', { deployStartedAt: iso(T0) })],
      [container('r1'), failing],
      T0 + 61_000,
    )
    assert.deepEqual(types(plan.actions), ['revision:r2:Failed', 'remove:r2-c0'])
    const fail = plan.actions[0] as Extract<Action, { type: 'revision' }>
    assert.equal(fail.patch.reason, 'HealthCheckFailed')
    assert.match(String(fail.patch.message), /GET \/ answered 500/)
    assert.equal(fail.patch.rolledBack, true)
    assert.deepEqual([plan.status.phase, plan.status.reason], ['Degraded', 'RolledBack'])
    assert.deepEqual(plan.status.urls, ['http://127.0.0.1:1000'])
    assert.deepEqual(plan.status.upstreams, ['10.0.1.2:8080'], 'the old ones, never the failed one')
  })

  test("a replica no node takes fails by the deadline with the runtime's reason; the old one serves on", () => {
    const waiting = 'pending: no suitable node (scheduling constraints not satisfied on 1 node)'
    const unplaced = container('r2', 0, { running: false, restarting: true, verdict: 'starting', waiting })
    const plan = planEnvironment(
      env(),
      [revision(1, 'Active'), revision(2, 'Deploying', { deployStartedAt: iso(T0) })],
      [container('r1'), unplaced],
      T0 + 61_000,
    )
    const fail = plan.actions[0] as Extract<Action, { type: 'revision' }>
    assert.equal(fail.patch.reason, 'ProgressDeadlineExceeded')
    assert.match(String(fail.patch.message), /not running: pending: no suitable node/)
    assert.deepEqual(plan.status.upstreams, ['10.0.1.2:8080'])
  })

  test('a container that keeps restarting fails the revision as CrashLoop before the deadline', () => {
    const plan = planEnvironment(
      env(),
      [revision(1, 'Active'), revision(2, 'Deploying', { deployStartedAt: iso(T0) })],
      [container('r1'), container('r2', 0, { restartCount: 3, running: false, verdict: 'starting' })],
      T0 + 3000,
    )
    assert.equal(plan.outcome?.reason, 'CrashLoop')
  })

  test('a crash in the bake window rolls back to the previous revision, whose containers start again', () => {
    const active = revision(2, 'Active', { readyAt: iso(T0), previousDeployment: 'r1' })
    const plan = planEnvironment(
      env(),
      [revision(1, 'Superseded'), active],
      [container('r1', 0, { running: false }), container('r2', 0, { restartCount: 1 })],
      T0 + 10_000,
    )
    assert.deepEqual(types(plan.actions), [
      'remove:r2-c0',
      'start:r1-c0',
      'revision:r2:Failed',
      'revision:r1:Active',
    ])
    assert.deepEqual([plan.status.phase, plan.status.reason], ['Degraded', 'RolledBack'])
    assert.equal(plan.outcome?.type, 'RolledBack')
    const restored = plan.actions.at(-1) as Extract<Action, { type: 'revision' }>
    assert.deepEqual(
      restored.patch,
      { phase: 'Active', rolledBackFrom: 'r2', previousDeployment: null },
      'restored, it bakes no more against an older revision of its own',
    )
  })

  test('after the bake window the previous containers go; replicas scale in place', () => {
    const active = revision(2, 'Active', { readyAt: iso(T0), previousDeployment: 'r1' })
    const revisions = [revision(1, 'Superseded'), active]
    const up = planEnvironment(
      env({ replicas: 3 }),
      revisions,
      [container('r1', 0, { running: false }), container('r2')],
      T0 + 31_000,
    )
    assert.deepEqual(types(up.actions), ['remove:r1-c0', 'create:r2/1', 'create:r2/2'])
    const down = planEnvironment(
      env({ replicas: 1 }),
      revisions,
      [0, 1, 2].map((i) => container('r2', i)),
      T0 + 31_000,
    )
    assert.deepEqual(types(down.actions), ['remove:r2-c1', 'remove:r2-c2'])
    const steady = planEnvironment(env(), revisions, [container('r2')], T0 + 31_000)
    assert.deepEqual(
      [steady.actions, steady.status.phase, steady.requeueAfterMs],
      [[], 'Available', undefined],
    )
  })

  test('a container deleted behind our back is recreated; a crash-looping one is reported', () => {
    const revisions = [revision(1, 'Active')]
    assert.deepEqual(types(planEnvironment(env(), revisions, [], T0).actions), ['create:r1/0'])
    const looping = planEnvironment(
      env(),
      revisions,
      [container('r1', 0, { restartCount: 4, running: false, restarting: true })],
      T0,
    )
    assert.deepEqual(looping.actions, [], 'Docker is restarting it, with its own backoff')
    assert.deepEqual([looping.status.phase, looping.status.reason], ['Degraded', 'CrashLoop'])
    assert.equal(looping.requeueAfterMs, CRASH_LOOP_RECHECK_MS, 'no hot loop: Docker events wake it')
  })

  test('a container that crash-looped and has now run 30 s is out of the loop: Available, settled', () => {
    const revisions = [revision(1, 'Active')]
    const lastStart = (ago: number) => container('r1', 0, { restartCount: 5, startedAt: T0 - ago })
    const recovering = planEnvironment(env(), revisions, [lastStart(CRASH_LOOP_RECOVERED_MS - 1)], T0)
    assert.equal(recovering.status.reason, 'CrashLoop', 'not yet')
    const recovered = planEnvironment(env(), revisions, [lastStart(CRASH_LOOP_RECOVERED_MS)], T0)
    assert.deepEqual([recovered.status.phase, recovered.status.reason], ['Available', undefined])
    assert.equal(recovered.requeueAfterMs, undefined)
  })

  test('cancelling a deploying revision removes its containers and leaves the active one serving', () => {
    const deploying = { ...revision(2, 'Deploying', { deployStartedAt: iso(T0) }), cancelRequested: true }
    const plan = planEnvironment(
      env(),
      [revision(1, 'Active'), deploying],
      [container('r1'), container('r2')],
      T0 + 1000,
    )
    assert.deepEqual(types(plan.actions), ['revision:r2:Cancelled', 'remove:r2-c0'])
    assert.equal(plan.status.phase, 'Available')
  })

  test('stop-first stops the old containers before creating the new ones', () => {
    const stopFirst = env({ rollout: { ...env().rollout, strategy: 'StopFirst' } })
    const plan = planEnvironment(
      stopFirst,
      [revision(1, 'Active'), revision(2, 'Building')],
      [container('r1')],
      T0,
    )
    assert.deepEqual(types(plan.actions), ['stop:r1-c0', 'revision:r2:Deploying', 'create:r2/0'])
  })

  test('a paused environment is left alone', () => {
    const plan = planEnvironment(
      env({ paused: true }),
      [revision(1, 'Building')],
      [container('stranger')],
      T0,
    )
    assert.deepEqual(plan.actions, [])
  })
})

test('restarts before the switch do not count against the bake window; later ones do', () => {
  const active = revision(2, 'Active', {
    readyAt: iso(T0),
    previousDeployment: 'r1',
    restartsAtReady: { 'r2-c0': 1 },
  })
  const revisions = [revision(1, 'Superseded'), active]
  const calm = planEnvironment(
    env(),
    revisions,
    [container('r1', 0, { running: false }), container('r2', 0, { restartCount: 1 })],
    T0 + 5000,
  )
  assert.equal(calm.outcome, undefined)
  const again = planEnvironment(
    env(),
    revisions,
    [container('r1', 0, { running: false }), container('r2', 0, { restartCount: 2 })],
    T0 + 5000,
  )
  assert.equal(again.outcome?.type, 'RolledBack')
})

test('a container stopped by hand (not restarting) is started again', () => {
  const plan = planEnvironment(
    env(),
    [revision(1, 'Active')],
    [container('r1', 0, { running: false, restartCount: 2 })],
    T0,
  )
  assert.deepEqual(types(plan.actions), ['start:r1-c0'])
})

test('the environment stays Degraded / RolledBack while its newest revision is the failed one', () => {
  const failed = revision(2, 'Failed', { rolledBack: true })
  const plan = planEnvironment(env(), [revision(1, 'Active'), failed], [container('r1')], T0)
  assert.deepEqual([plan.status.phase, plan.status.reason, plan.actions], ['Degraded', 'RolledBack', []])
  const redeployed = planEnvironment(
    env(),
    [revision(1, 'Active'), failed, revision(3, 'Failed')],
    [container('r1')],
    T0,
  )
  assert.equal(redeployed.status.phase, 'Available', 'a later failure without rollback is its own story')
})

describe('what the review found', () => {
  test('a revision passed over (Superseded) is never deployed unasked when a newer one fails', () => {
    const skipped = revision(2, 'Superseded')
    const plan = planEnvironment(
      env(),
      [revision(1, 'Active'), skipped, revision(3, 'Failed', { rolledBack: true })],
      [container('r1')],
      T0,
    )
    assert.deepEqual(plan.actions, [])
    assert.deepEqual((plan.status.activeDeployment as { id: string }).id, 'r1')
  })

  test('stop-first keeps the old revision stopped while the new one starts; a cancel before then stops nothing', () => {
    const stopFirst = env({ rollout: { ...env().rollout, strategy: 'StopFirst' } })
    const deploying = revision(2, 'Deploying', { deployStartedAt: iso(T0) })
    const plan = planEnvironment(
      stopFirst,
      [revision(1, 'Active'), deploying],
      [container('r1'), container('r2', 0, { verdict: 'starting' })],
      T0 + 500,
    )
    assert.deepEqual(
      types(plan.actions),
      ['stop:r1-c0'],
      'the old one was up again (a crash before the stop): down it goes',
    )
    const cancelled = { ...revision(2, 'Building'), cancelRequested: true }
    const cancel = planEnvironment(stopFirst, [revision(1, 'Active'), cancelled], [container('r1')], T0)
    assert.deepEqual(types(cancel.actions), ['revision:r2:Cancelled'])
  })

  test('in the drain, a replica not yet proven (a new term re-probes) or a scale-up waits; nothing fails', () => {
    const switched = revision(2, 'Deploying', {
      deployStartedAt: iso(T0),
      switchedAt: iso(T0),
      restartsAtSwitch: { 'r2-c0': 0 },
    })
    const reprobing = planEnvironment(
      env(),
      [revision(1, 'Active'), switched],
      [container('r1'), container('r2', 0, { verdict: 'starting' })],
      T0 + 10_000,
    )
    assert.deepEqual([reprobing.actions, reprobing.outcome], [[], undefined])
    const scaledUp = planEnvironment(
      env({ replicas: 2 }),
      [revision(1, 'Active'), switched],
      [container('r1'), container('r2')],
      T0 + 10_000,
    )
    assert.deepEqual(types(scaledUp.actions), ['create:r2/1'])
    assert.equal(scaledUp.outcome, undefined)
  })

  test('a switched revision that loses a container during the drain fails, and the old one serves again', () => {
    const switched = revision(2, 'Deploying', {
      deployStartedAt: iso(T0),
      switchedAt: iso(T0 + 1000),
      restartsAtSwitch: { 'r2-c0': 0 },
    })
    const plan = planEnvironment(
      env(),
      [revision(1, 'Active'), switched],
      [
        container('r1', 0, { running: false }),
        container('r2', 0, { running: false, restartCount: 1, restarting: true }),
      ],
      T0 + 3000,
    )
    assert.deepEqual(types(plan.actions), ['revision:r2:Failed', 'start:r1-c0', 'remove:r2-c0'])
    assert.equal(plan.outcome?.reason, 'CrashLoop')
    assert.deepEqual(plan.status.upstreams, [], 'no route to the failed revision while the old one starts')
  })

  test('a newer revision waits for one that routes already point at, and skipped ones are superseded', () => {
    const switched = revision(2, 'Deploying', {
      deployStartedAt: iso(T0),
      switchedAt: iso(T0 + 1000),
      restartsAtSwitch: {},
    })
    const waiting = planEnvironment(
      env(),
      [revision(1, 'Active'), switched, revision(3, 'Building')],
      [container('r1'), container('r2')],
      T0 + 2000,
    )
    assert.deepEqual(waiting.actions, [], 'r2 drains on; r3 waits')
    const skipping = planEnvironment(
      env(),
      [
        revision(1, 'Active'),
        revision(2, 'Deploying', { deployStartedAt: iso(T0) }),
        revision(3, 'Building'),
      ],
      [container('r1'), container('r2', 0, { verdict: 'starting' })],
      T0 + 2000,
    )
    assert.deepEqual(types(skipping.actions), [
      'remove:r2-c0',
      'revision:r3:Deploying',
      'revision:r2:Superseded',
      'create:r3/0',
    ])
  })
})

describe('where traffic goes (status.upstreams)', () => {
  test("a bake-window rollback keeps the new revision's healthy replicas serving until the old ones are ready", () => {
    const active = revision(2, 'Active', { readyAt: iso(T0), previousDeployment: 'r1' })
    const stopped = [0, 1].map((i) => container('r1', i, { running: false }))
    const crashed = container('r2', 0, { restartCount: 1 })
    const plan = planEnvironment(
      env({ replicas: 2 }),
      [revision(1, 'Superseded'), active],
      [...stopped, crashed, container('r2', 1)],
      T0 + 10_000,
    )
    assert.deepEqual(types(plan.actions), [
      'remove:r2-c0',
      'start:r1-c0',
      'start:r1-c1',
      'revision:r2:Failed',
      'revision:r1:Active',
    ])
    assert.deepEqual(
      plan.status.upstreams,
      ['10.0.2.3:8080'],
      'the healthy new replica, never the crashed one',
    )

    const restored = revision(1, 'Active', { rolledBackFrom: 'r2' })
    const failed = revision(2, 'Failed', { rolledBack: true })
    const starting = [0, 1].map((i) => container('r1', i, { verdict: 'starting' }))
    const waiting = planEnvironment(
      env({ replicas: 2 }),
      [restored, failed],
      [...starting, container('r2', 1)],
      T0 + 11_000,
    )
    assert.deepEqual(types(waiting.actions), [], 'the bridge stays while the old replicas are unproven')
    assert.deepEqual(waiting.status.upstreams, ['10.0.2.3:8080'])

    const ready = [0, 1].map((i) => container('r1', i))
    const done = planEnvironment(
      env({ replicas: 2 }),
      [restored, failed],
      [...ready, container('r2', 1)],
      T0 + 12_000,
    )
    assert.deepEqual(types(done.actions), ['remove:r2-c1'])
    assert.deepEqual(
      done.status.upstreams,
      ['10.0.1.2:8080', '10.0.1.3:8080'],
      'the bridge leaves as it goes',
    )
  })

  test('replicas routed before stay routed while a new term proves them again; unrouted ones wait', () => {
    const routed = env({ replicas: 2, status: { upstreams: ['10.0.1.2:8080'] } })
    const unproven = [0, 1].map((i) => container('r1', i, { verdict: 'starting' }))
    const plan = planEnvironment(routed, [revision(1, 'Active')], unproven, T0)
    assert.deepEqual(plan.status.upstreams, ['10.0.1.2:8080'])
    const unhealthy = [container('r1', 0, { verdict: 'unhealthy' }), container('r1', 1)]
    assert.deepEqual(planEnvironment(routed, [revision(1, 'Active')], unhealthy, T0).status.upstreams, [
      '10.0.1.3:8080',
    ])
  })

  test('a replica scaled away, or stopped first, leaves the routes in the same step', () => {
    const down = planEnvironment(
      env({ replicas: 1 }),
      [revision(1, 'Active')],
      [0, 1].map((i) => container('r1', i)),
      T0,
    )
    assert.deepEqual(types(down.actions), ['remove:r1-c1'])
    assert.deepEqual(down.status.upstreams, ['10.0.1.2:8080'])
    const stopFirst = env({ rollout: { ...env().rollout, strategy: 'StopFirst' } })
    const plan = planEnvironment(
      stopFirst,
      [revision(1, 'Active'), revision(2, 'Deploying', { deployStartedAt: iso(T0) })],
      [container('r1'), container('r2', 0, { verdict: 'starting' })],
      T0 + 1000,
    )
    assert.deepEqual(types(plan.actions), ['stop:r1-c0'])
    assert.deepEqual(plan.status.upstreams, [], 'nothing routes to what stops')
  })
})
