import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AVOID_ANNOTATION, HOLD_ANNOTATION, PROMOTE_ANNOTATION } from '../../api/release.js';
import { planWaves } from '../../fleet/waves.js';
import { T0, fleetOf, prodOf, tenantOf } from '../fleet/testing.js';
import { roleOf } from '../fleet/prods.js';
import {
  GATE_ERRORS_TO_FAIL,
  VERSION_RECHECK_MS,
  HOLD_BOUND_MS,
  STANDBY_LABEL,
  assignmentOf,
  decide,
  type Action,
} from './plan.js';
import { World, releaseOf, routedFleet } from './testing.js';

// The seed's shape: a test Prod, a quiet Prod, Prods whose tenants are all Dual, Prods with
// Single tenants.
function seed() {
  const prods = [
    prodOf('a-1', 'a'),
    prodOf('a-2', 'a'),
    prodOf('b-1', 'b'),
    prodOf('b-2', 'b'),
    prodOf('c-1', 'c'),
    prodOf('c-2', 'c', { role: 'test' }),
  ];
  const tenants = [
    tenantOf('t-test', { test: true }, { primary: 'c-2' }),
    tenantOf('quiet', {}, { primary: 'c-1' }),
    tenantOf('d-1', { redundancy: 'Dual' }, { primary: 'a-2', secondary: 'b-1' }),
    tenantOf('d-2', { redundancy: 'Dual' }, { primary: 'b-1', secondary: 'a-2' }),
    tenantOf('d-3', { redundancy: 'Dual' }, { primary: 'a-2', secondary: 'c-1' }),
    tenantOf('s-1', {}, { primary: 'a-1' }),
    tenantOf('s-2', {}, { primary: 'a-1' }),
    tenantOf('s-3', {}, { primary: 'b-2' }),
    tenantOf('s-4', {}, { primary: 'b-2' }),
  ];
  return { prods, tenants };
}

const kinds = (as: Action[]) =>
  as.map((a) =>
    a.kind === 'annotate' || a.kind === 'unannotate'
      ? `${a.kind} ${a.prod} ${a.key}`
      : a.kind === 'setProdVersion'
        ? `set ${a.prod} ${a.version}`
        : a.kind === 'setFleetVersion'
          ? `fleet ${a.version}`
          : a.kind === 'checkVersion'
            ? `lookup ${a.version}`
            : `gates ${a.wave}`,
  );

function world(opts: ConstructorParameters<typeof World>[4] = {}, fleet = routedFleet()) {
  const { prods, tenants } = seed();
  return new World(fleet, prods, tenants, [releaseOf({ strategy: { bakeTime: '2s' } })], opts);
}

test('a Release for a missing Fleet: Pending, FleetNotFound, nothing touched', () => {
  const w = new World(undefined, [], [], [releaseOf()]);
  const d = w.reconcile();
  assert.equal(d.status.phase, 'Pending');
  assert.equal(d.status.conditions?.find((c) => c.type === 'Progressing')?.reason, 'FleetNotFound');
  assert.deepEqual(d.actions, []);
  assert.equal(d.status.startTime, undefined);
});

test('start: fromVersion and the waves of planWaves on the start state, the first Prod held', () => {
  const w = world();
  const expected = planWaves({
    prods: w.prods.map((p) => ({ name: p.metadata.name, role: roleOf(p) })),
    tenants: w.tenants.map((t) => ({
      name: t.metadata.name,
      redundancy: t.spec.redundancy ?? 'Single',
    })),
    assignment: assignmentOf(w.tenants),
    canaryProds: 1,
  });
  const d = w.reconcile();
  assert.equal(d.status.phase, 'Progressing');
  assert.equal(d.status.fromVersion, '1.0.0');
  assert.deepEqual(
    d.status.waves?.map((x) => x.prods.map((p) => p.name)),
    expected.map((x) => x.prods.map((p) => p.prod)),
  );
  assert.deepEqual(
    d.status.waves?.[0]?.prods.map((p) => p.name),
    ['c-2'],
  );
  // The test Prod has no Dual tenants: held and updated at once.
  assert.deepEqual(kinds(d.actions), [`annotate c-2 ${HOLD_ANNOTATION}`, 'set c-2 2.0.0']);
  assert.equal(d.events[0]?.reason, 'Started');
  assert.equal(d.events[1]?.reason, 'WaveStarted');
});

test('Prods already on the version are not in the waves', () => {
  const w = world();
  w.prod('a-1').spec.version = '2.0.0';
  const d = w.reconcile();
  assert.ok(!d.status.prods?.some((p) => p.name === 'a-1'));
});

test('Holding waits for the Router to list the Prod as held when it has Dual tenants', () => {
  const w = world();
  const r = w.release();
  // Skip to the wave of a-2 (Dual tenants): earlier waves passed.
  w.reconcile();
  const waves = w.release().status!.waves!;
  const i = waves.findIndex((x) => x.prods.some((p) => p.name === 'a-2'));
  waves.forEach((x, j) => j < i && (x.state = 'Passed'));
  r.status!.currentWave = i;
  for (const p of w.prods) p.metadata.annotations = {};
  w.prod('c-2').spec.version = '1.0.0';
  let d = w.reconcile();
  assert.ok(kinds(d.actions).includes(`annotate a-2 ${HOLD_ANNOTATION}`));
  assert.ok(!kinds(d.actions).some((k) => k.startsWith('set a-2')), 'not updated before held');
  d = w.reconcile();
  assert.ok(!kinds(d.actions).some((k) => k.startsWith('set a-2')));
  assert.match(d.status.prods!.find((p) => p.name === 'a-2')!.message!, /waiting for Router edge/);
  w.held = ['a-2'];
  d = w.reconcile();
  assert.ok(kinds(d.actions).includes('set a-2 2.0.0'));
});

test('Holding: no router → no wait; a Router that never lists it → updated after the bound, said so', () => {
  const noRouter = world({}, fleetOf());
  const d0 = noRouter.reconcile();
  assert.ok(kinds(d0.actions).includes('set c-2 2.0.0'));

  const w = world();
  w.reconcile();
  const waves = w.release().status!.waves!;
  const i = waves.findIndex((x) => x.prods.some((p) => p.name === 'a-2'));
  waves.forEach((x, j) => j < i && (x.state = 'Passed'));
  w.release().status!.currentWave = i;
  w.prod('c-2').spec.version = '1.0.0';
  w.reconcile();
  w.now += HOLD_BOUND_MS - 1;
  assert.ok(!kinds(w.reconcile().actions).includes('set a-2 2.0.0'));
  w.now += 1;
  const d = w.reconcile();
  assert.ok(kinds(d.actions).includes('set a-2 2.0.0'));
  assert.match(d.status.prods!.find((p) => p.name === 'a-2')!.message!, /did not list it as held/);
});

test('a Prod whose spec.version is already set (a restart after the write) is not set again', () => {
  const w = world();
  w.reconcile();
  // The write went through, the status did not: the Release still says Holding.
  const st = structuredClone(w.release().status!);
  w.prod('c-2').spec.version = '2.0.0';
  w.release().status = st;
  st.prods!.find((p) => p.name === 'c-2')!.state = 'Holding';
  const d = w.reconcile();
  assert.ok(!kinds(d.actions).some((k) => k.startsWith('set c-2')));
  assert.equal(d.status.prods!.find((p) => p.name === 'c-2')!.state, 'Updating');
});

test('warm on the version → hold lifted, wave Baking with bakeStart; bake passes after bakeTime', () => {
  const w = world();
  w.reconcile();
  w.tick();
  let d = w.reconcile();
  assert.equal(d.status.prods!.find((p) => p.name === 'c-2')!.state, 'WarmingUp');
  w.tick();
  d = w.reconcile();
  assert.ok(kinds(d.actions).includes(`unannotate c-2 ${HOLD_ANNOTATION}`));
  assert.equal(d.status.waves![0]!.state, 'Baking');
  assert.equal(Date.parse(d.status.waves![0]!.bakeStart!), w.now);
  assert.equal(d.requeueAfterMs, 2000);
  w.now += 1999;
  assert.equal(w.reconcile().status.waves![0]!.state, 'Baking');
  w.now += 1;
  d = w.reconcile();
  assert.equal(d.status.waves![0]!.state, 'Passed');
  assert.ok(d.events.some((e) => e.reason === 'WavePassed'));
  assert.equal(d.observations[0]?.metric, 'waveDuration');
  assert.equal(d.status.currentWave, 1);
});

const gated = {
  bakeTime: '2s',
  gateInterval: '500ms',
  gates: [{ name: 'errors', matchers: ['prod="{{prod}}"', 'severity=~"critical|page"'] }],
};

test('gates: asked during the bake with matchers rendered per Prod; the bake passes only after a check at its end', () => {
  const w = world();
  w.release().spec.strategy = gated;
  w.reconcile();
  w.tick();
  w.tick();
  let d = w.reconcile();
  const q = d.actions.find((a) => a.kind === 'queryGates');
  assert.ok(q && q.kind === 'queryGates');
  assert.deepEqual(q.queries[0], {
    gate: 'errors',
    prod: 'c-2',
    matchers: [
      { name: 'prod', op: '=', value: 'c-2' },
      { name: 'severity', op: '=~', value: 'critical|page' },
    ],
  });
  // No new check until the interval is up.
  d = w.reconcile();
  assert.ok(!d.actions.some((a) => a.kind === 'queryGates'));
  assert.equal(d.status.gates?.[0]?.result, 'Passing');
  w.now += 2000;
  d = w.reconcile();
  // Bake time is up, but the last check was before its end: ask once more.
  assert.equal(d.status.waves![0]!.state, 'Baking');
  assert.ok(d.actions.some((a) => a.kind === 'queryGates'));
  d = w.reconcile();
  assert.equal(d.status.waves![0]!.state, 'Passed');
  assert.equal(d.status.gates?.[0]?.result, 'Passed');
});

test('promote ("kachiku.io/promote": "<wave>"): that wave\'s bake ends at once; another index does nothing', () => {
  const w = world();
  w.reconcile();
  w.tick();
  w.reconcile();
  w.tick();
  let d = w.reconcile();
  assert.equal(d.status.waves![0]!.state, 'Baking');
  w.now += 100;
  w.release().metadata.annotations = { [PROMOTE_ANNOTATION]: '1' };
  assert.equal(w.reconcile().status.waves![0]!.state, 'Baking');
  w.release().metadata.annotations = { [PROMOTE_ANNOTATION]: '0' };
  d = w.reconcile();
  assert.equal(d.status.waves![0]!.state, 'Passed');
  assert.equal(d.status.currentWave, 1);
});

test('promote with gates: the wave passes only after a check without alerts', () => {
  const w = world();
  w.release().spec.strategy = gated;
  w.release().metadata.annotations = { [PROMOTE_ANNOTATION]: '0' };
  w.reconcile();
  w.tick();
  w.tick();
  let d = w.reconcile();
  assert.equal(d.status.waves![0]!.state, 'Baking');
  assert.ok(d.actions.some((a) => a.kind === 'queryGates'));
  d = w.reconcile();
  assert.equal(d.status.waves![0]!.state, 'Passed');
  assert.equal(d.status.gates?.[0]?.result, 'Passed');
});

test('promote does not pass a wave whose gate fires: it fails, naming the alert', () => {
  const w = world({ alerts: (prod) => (prod === 'c-2' ? ['Boom'] : []) });
  w.release().spec.strategy = gated;
  w.release().metadata.annotations = { [PROMOTE_ANNOTATION]: '0' };
  for (let i = 0; i < 10 && w.release().status?.waves?.[0]?.state !== 'Failed'; i++) {
    w.reconcile();
    assert.notEqual(w.release().status?.waves?.[0]?.state, 'Passed');
    w.tick();
  }
  const r = w.release();
  assert.equal(r.status?.waves?.[0]?.state, 'Failed');
  assert.deepEqual(r.status?.gates?.find((g) => g.wave === 0)?.alerts, ['Boom']);
});

test('a bake resumed after a restart (no check in memory) asks the gates before it passes', () => {
  const w = world();
  w.release().spec.strategy = gated;
  w.reconcile();
  w.tick();
  w.tick();
  w.reconcile();
  w.gateCheck.clear();
  w.now += 10_000;
  const d = decide({
    release: w.release(),
    fleet: w.fleet,
    prods: w.prods,
    tenants: w.tenants,
    held: [],
    gateCheck: undefined,
    others: [],
    defaultAlertmanager: 'http://am',
    now: w.now,
  });
  assert.equal(d.status.waves![0]!.state, 'Baking');
  assert.ok(d.actions.some((a) => a.kind === 'queryGates'));
});

test('an alert during the bake: wave Failed naming it, rollback avoids every Prod on the version', () => {
  const w = world({ alerts: (prod) => (prod === 'c-1' ? ['HighErrorRate'] : []) });
  w.release().spec.strategy = gated;
  let r = w.release();
  for (let i = 0; i < 40 && r.status?.phase !== 'RollingBack'; i++) {
    const d = w.reconcile();
    // The step that fails the wave begins the rollback: nothing else would bring it back.
    if (d.status.waves?.some((x) => x.state === 'Failed')) {
      assert.equal(d.status.phase, 'RollingBack');
      assert.ok(d.actions.some((a) => a.kind === 'annotate' && a.key === AVOID_ANNOTATION));
    }
    w.tick();
    r = w.release();
  }
  assert.equal(r.status?.phase, 'RollingBack');
  const failed = r.status!.waves!.findIndex((x) => x.state === 'Failed');
  assert.ok(r.status!.waves![failed]!.prods.some((p) => p.name === 'c-1'));
  assert.ok(r.status!.waves![failed]!.prods.some((p) => p.name === 'c-1'));
  assert.equal(r.status!.conditions?.find((c) => c.type === 'Failed')?.status, 'True');
  // c-2 (wave 0, passed) and c-1: both on the bad version, both avoided.
  assert.equal(w.prod('c-2').metadata.annotations?.[AVOID_ANNOTATION], 'web-2.0.0');
  assert.equal(w.prod('c-1').metadata.annotations?.[AVOID_ANNOTATION], 'web-2.0.0');
  assert.ok(r.status!.rollback?.startTime);
  const final = w.runToEnd();
  assert.equal(final.status?.phase, 'RolledBack');
  assert.ok(final.status!.rollback?.routedTime);
  assert.equal(final.status!.conditions?.find((c) => c.type === 'RolledBack')?.status, 'True');
  for (const n of ['c-1', 'c-2']) {
    assert.equal(w.prod(n).spec.version, '1.0.0');
    assert.equal(w.prod(n).status?.version, '1.0.0');
    assert.equal(w.prod(n).metadata.annotations?.[AVOID_ANNOTATION], undefined);
  }
  assert.equal(w.fleet!.spec.version, '1.0.0');
  // Versions set back only once every tenant was off the avoided Prods.
  const routed = Date.parse(final.status!.rollback!.routedTime!);
  assert.ok(routed >= Date.parse(final.status!.rollback!.startTime));
});

test('onFailure Pause: phase Paused, nothing moved', () => {
  const w = world({ alerts: (prod) => (prod === 'c-2' ? ['Boom'] : []) });
  w.release().spec.strategy = { ...gated, onFailure: 'Pause' };
  for (let i = 0; i < 10; i++) {
    w.reconcile();
    w.tick();
  }
  const d = w.reconcile();
  assert.equal(d.status.phase, 'Paused');
  assert.deepEqual(d.actions, []);
  assert.ok(!w.prods.some((p) => p.metadata.annotations?.[AVOID_ANNOTATION]));
});

test('onFailure Pause, then resumed (spec.paused true, then false): the wave bakes again, gates asked anew; a plain reconcile does not resume', () => {
  let firing = true;
  const w = world({ alerts: (prod) => (firing && prod === 'c-2' ? ['Boom'] : []) });
  w.release().spec.strategy = { ...gated, onFailure: 'Pause' };
  for (let i = 0; i < 10; i++) {
    w.reconcile();
    w.tick();
  }
  assert.equal(w.reconcile().status.phase, 'Paused');
  firing = false;
  // Nothing changed in the spec: still Paused, however long.
  w.tick(60_000);
  assert.equal(w.reconcile().status.phase, 'Paused');
  const edit = (paused: boolean) => {
    const r = w.release();
    r.spec.paused = paused;
    r.metadata.generation = (r.metadata.generation ?? 1) + 1;
  };
  edit(true);
  let d = w.reconcile();
  assert.equal(d.status.phase, 'Paused', 'spec.paused: stays paused');
  edit(false);
  d = w.reconcile();
  assert.equal(d.status.phase, 'Progressing');
  assert.equal(d.status.waves![0]!.state, 'Baking');
  assert.equal(d.status.conditions?.find((c) => c.type === 'Failed')?.status, 'False');
  assert.ok(kinds(d.actions).includes('gates 0'), 'the gates are asked again');
  assert.ok(!w.prods.some((p) => p.metadata.annotations?.[AVOID_ANNOTATION]));
  assert.equal(w.runToEnd().status?.phase, 'Succeeded');
});

test('gate errors never pass a bake; five in a row fail the wave', () => {
  const w = world({ gateDown: () => true });
  w.release().spec.strategy = { ...gated, bakeTime: '1s' };
  let r = w.release();
  const seen: string[] = [];
  for (let i = 0; i < 30 && r.status?.phase !== 'RollingBack'; i++) {
    w.reconcile();
    r = w.release();
    const c = r.status?.conditions?.find((x) => x.type === 'Progressing');
    if (c) seen.push(c.reason);
    assert.notEqual(r.status?.waves?.[0]?.state, 'Passed');
    w.tick(500);
  }
  assert.ok(seen.includes('GateError'));
  assert.equal(r.status?.phase, 'RollingBack');
  assert.equal(r.status?.rollback?.reason, 'GateError');
  assert.match(
    r.status!.conditions!.find((c) => c.type === 'Failed')!.message,
    new RegExp(`${GATE_ERRORS_TO_FAIL} times`),
  );
});

test('spec.paused: no new step begins, a Prod mid-update finishes; resume continues', () => {
  const w = world();
  w.reconcile();
  w.release().spec.paused = true;
  w.tick();
  w.tick();
  let d = w.reconcile();
  // c-2 finished warming: its hold is lifted, it bakes.
  assert.ok(kinds(d.actions).includes(`unannotate c-2 ${HOLD_ANNOTATION}`));
  w.now += 5000;
  d = w.reconcile();
  assert.equal(d.status.phase, 'Paused');
  assert.equal(d.status.waves![1]!.state, 'Pending');
  assert.deepEqual(d.actions, []);
  w.release().spec.paused = false;
  d = w.reconcile();
  assert.equal(d.status.phase, 'Progressing');
  assert.equal(d.status.waves![1]!.state, 'Running');
  assert.equal(w.runToEnd().status?.phase, 'Succeeded');
});

test('spec.aborted: what was updated is rolled back, then Aborted', () => {
  const w = world();
  for (let i = 0; i < 8; i++) {
    w.reconcile();
    w.tick();
  }
  assert.ok(w.prods.some((p) => p.spec.version === '2.0.0'));
  w.release().spec.aborted = true;
  const r = w.runToEnd();
  assert.equal(r.status?.phase, 'Aborted');
  assert.equal(r.status?.rollback?.reason, 'Aborted');
  assert.ok(w.prods.every((p) => p.spec.version === '1.0.0' && p.status?.version === '1.0.0'));
  assert.ok(
    w.prods.every(
      (p) =>
        !p.metadata.annotations?.[AVOID_ANNOTATION] && !p.metadata.annotations?.[HOLD_ANNOTATION],
    ),
  );
});

test('the happy path: every Prod once, Prods that joined form a rest wave, the Fleet version set last', () => {
  const w = world();
  for (let i = 0; i < 12; i++) {
    w.reconcile();
    w.tick();
  }
  w.prods.push(prodOf('c-3', 'c'));
  const r = w.runToEnd();
  assert.equal(r.status?.phase, 'Succeeded');
  assert.equal(r.status?.conditions?.find((c) => c.type === 'Complete')?.status, 'True');
  assert.equal(r.status!.waves!.at(-1)!.step, 'rest');
  assert.deepEqual(
    r.status!.waves!.at(-1)!.prods.map((p) => p.name),
    ['c-3'],
  );
  assert.equal(w.fleet!.spec.version, '2.0.0');
  const writes = w.versionWrites.map((x) => x.prod).sort();
  assert.deepEqual(writes, ['a-1', 'a-2', 'b-1', 'b-2', 'c-1', 'c-2', 'c-3']);
  const last = w.decisions.at(-1)!;
  assert.ok(last.actions.some((a) => a.kind === 'setFleetVersion'));
});

test('one at a time per Fleet: a newer Release waits, then supersedes the older between waves', () => {
  const w = world();
  w.reconcile('web-2.0.0');
  w.releases.push(
    releaseOf(
      { version: '3.0.0', strategy: { bakeTime: '2s' } },
      { name: 'web-3.0.0', created: T0 },
    ),
  );
  // The older is already running when the newer appears.
  const d = w.reconcile('web-3.0.0');
  assert.equal(d.status.phase, 'Pending');
  assert.equal(d.status.conditions?.[0]?.reason, 'WaitingForRelease');
  assert.deepEqual(d.actions, []);
  // The older finishes its current wave, then gives way.
  for (let i = 0; i < 10 && w.release().status?.phase !== 'Superseded'; i++) {
    w.tick();
    w.reconcile('web-2.0.0');
  }
  const old = w.release();
  assert.equal(old.status?.phase, 'Superseded');
  assert.equal(old.status!.waves![0]!.state, 'Passed');
  assert.equal(w.prod('c-2').spec.version, '2.0.0', 'its updated Prods stay as they are');
  const next = w.runToEnd('web-3.0.0');
  assert.equal(next.status?.phase, 'Succeeded');
  assert.ok(w.prods.every((p) => p.spec.version === '3.0.0'));
});

test('an older Release not started when a newer one exists: Superseded at once, nothing touched', () => {
  const w = world();
  w.releases.push(releaseOf({ version: '3.0.0' }, { name: 'web-3.0.0', created: T0 }));
  const d = w.reconcile('web-2.0.0');
  assert.equal(d.status.phase, 'Superseded');
  assert.deepEqual(d.actions, []);
});

test('an invalid gate: Pending with a condition, nothing touched', () => {
  const w = world();
  w.release().spec.strategy = { gates: [{ name: 'bad', matchers: ['prod="{{nope}}"'] }] };
  const d = w.reconcile();
  assert.equal(d.status.phase, 'Pending');
  assert.equal(d.status.conditions?.[0]?.reason, 'InvalidGate');
  assert.match(d.status.message!, /no variable "nope"/);
  assert.deepEqual(d.actions, []);
});

test('Dual partners are never held together even when tenants moved after planning', () => {
  const w = world({}, fleetOf());
  w.release().spec.strategy = { bakeTime: '0s', maxProdsPerWave: 10 };
  w.reconcile();
  // A new Dual tenant pairs c-1 with b-1 after the plan was made.
  w.tenants.push(tenantOf('late', { redundancy: 'Dual' }, { primary: 'c-1', secondary: 'b-1' }));
  const r = w.runToEnd();
  assert.equal(r.status?.phase, 'Succeeded');
});

test('decide() keeps a finished Release as it is', () => {
  const w = world();
  w.runToEnd();
  const before = structuredClone(w.release().status);
  const d = w.reconcile();
  assert.deepEqual(d.actions, []);
  assert.deepEqual(d.status, { ...before, observedGeneration: 1 });
});

test('standby Prods (kachiku.io/standby) are in no wave, not even the rest wave', () => {
  const w = world();
  const standby = prodOf('c-9', 'c');
  standby.metadata.labels = { ...standby.metadata.labels, [STANDBY_LABEL]: 'true' };
  w.prods.push(standby);
  const r = w.runToEnd();
  assert.equal(r.status?.phase, 'Succeeded');
  assert.ok(!r.status!.prods!.some((p) => p.name === 'c-9'));
  assert.equal(w.prod('c-9').spec.version, '1.0.0');
});

test('an image source: the version is looked up before any Prod is touched; not found → Pending, VersionNotFound, asked again later; found → starts', () => {
  let pushed = false;
  const fleet = routedFleet();
  fleet.spec.source = {
    image: { repository: 'registry.test/shop', policy: { semver: { range: '>=1.0.0' } } },
  };
  const w = world({ registry: () => pushed }, fleet);
  let d = w.reconcile();
  assert.deepEqual(kinds(d.actions), ['lookup 2.0.0']);
  assert.equal(d.status.phase, 'Pending');
  d = w.reconcile();
  assert.equal(d.status.phase, 'Pending');
  const c = d.status.conditions?.find((x) => x.type === 'Progressing');
  assert.equal(c?.reason, 'VersionNotFound');
  assert.match(
    c?.message ?? '',
    /registry\.test\/shop:2\.0\.0 is not in the registry; nothing touched/,
  );
  assert.equal(d.status.startTime, undefined);
  assert.deepEqual(d.actions, [], 'not asked again at once');
  assert.ok(
    !w.prods.some((p) => p.metadata.annotations && Object.keys(p.metadata.annotations).length),
  );
  assert.deepEqual(w.versionWrites, []);
  // Pushed meanwhile: the next lookup (after VERSION_RECHECK_MS) finds it and the release starts.
  pushed = true;
  w.now += VERSION_RECHECK_MS;
  d = w.reconcile();
  assert.deepEqual(kinds(d.actions), ['lookup 2.0.0']);
  d = w.reconcile();
  assert.ok(d.status.startTime);
  assert.equal(w.lookups.length, 2);
  assert.equal(w.runToEnd().status?.phase, 'Succeeded');
});

test('a git source: no registry lookup', () => {
  const fleet = routedFleet();
  fleet.spec.source = { git: { url: 'https://git.test/shop.git', ref: { branch: 'main' } } };
  const w = world({ registry: () => false }, fleet);
  w.reconcile();
  assert.deepEqual(w.lookups, []);
  assert.ok(w.release().status?.startTime);
});
