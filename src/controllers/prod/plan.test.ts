import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Prod, ProdSpec, ProdStatus } from '../../api/prod.js';
import type { Gvr, KubeObject } from '../../runtime/rest.js';
import { deploymentGvr, namespaceGvr, serviceGvr } from '../../runtime/core.js';
import { OWNER_ANNOTATION, renderProd, type Rendered, type ResolveKind } from './render.js';
import type { Deployment, Service } from './observe.js';
import type { ClusterCandidate } from './placement.js';
import {
  AT_ONCE_MS,
  DRAIN_RECHECK_MS,
  FINALIZER,
  LISTING_RETRY_MS,
  REFUSED_RETRY_MS,
  decide,
  failed,
  locate,
  refused,
  wantsUsage,
  warmedUp,
  type Action,
  type ClusterView,
  type Decision,
  type Member,
  type Observed,
  type UsageSeen,
  type Where,
} from './plan.js';

// ---------------------------------------------------------------------------------------------
// Fixtures: a Prod, what its member cluster shows, the clock.

const T0 = Date.parse('2026-11-30T10:00:00Z');
const RESYNC = 600_000;
const NS = 'prod-eu-1';
const configMapGvr: Gvr = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };
const clusterRoleGvr: Gvr = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  resource: 'clusterroles',
  namespaced: false,
};
const resolve: ResolveKind = (apiVersion, kind) =>
  kind === 'ConfigMap' ? configMapGvr : kind === 'ClusterRole' ? clusterRoleGvr : undefined;

const baseSpec: ProdSpec = {
  app: 'shop',
  version: '1.0.0',
  components: [
    {
      name: 'web',
      image: 'registry.example/web:{{version}}',
      replicas: 2,
      ports: [{ name: 'http', port: 8080 }],
    },
    { name: 'worker', image: 'registry.example/worker:{{version}}' },
  ],
};

function prodOf(
  spec: Partial<ProdSpec> = {},
  status?: ProdStatus,
  meta: Partial<Prod['metadata']> = {},
): Prod {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Prod',
    metadata: {
      name: 'eu-1',
      namespace: 'shop',
      uid: 'uid-1',
      generation: 1,
      resourceVersion: '10',
      finalizers: [FINALIZER],
      ...meta,
    },
    spec: { ...baseSpec, ...spec },
    status,
  };
}

/** A stored status at `phase`, placed in cluster a with its namespace recorded. */
function stored(phase: ProdStatus['phase'], more: Partial<ProdStatus> = {}): ProdStatus {
  return {
    observedGeneration: 1,
    phase,
    phaseSince: '2026-11-30T09:00:00Z',
    cluster: 'a',
    namespace: NS,
    conditions: [],
    ...more,
  };
}

const render = (p: Prod): Rendered =>
  renderProd({ namespace: 'shop', name: 'eu-1' }, p.spec, 'a', resolve);

/** What the member cluster holds when every object of `p` was applied and rolled out. */
function running(
  p: Prod,
  opts: { ready?: number; skip?: string[]; usage?: UsageSeen; r?: Rendered } = {},
): Extract<Member, { kind: 'Seen' }> {
  const rendered = opts.r ?? render(p);
  const deployments = new Map<string, Deployment>();
  const services = new Map<string, Service>();
  let namespace: KubeObject | undefined;
  for (const d of rendered.objects) {
    const name = d.object.metadata.name;
    if (opts.skip?.includes(`${d.gvr.resource}/${name}`)) continue;
    const copy = structuredClone(d.object) as KubeObject;
    if (d.gvr === namespaceGvr) namespace = copy;
    if (d.gvr === serviceGvr) services.set(name, copy as Service);
    if (d.gvr === deploymentGvr) {
      const dep = copy as Deployment;
      const want = dep.spec?.replicas ?? 1;
      const ready = opts.ready ?? want;
      dep.metadata.generation = 1;
      dep.status = {
        observedGeneration: 1,
        replicas: want,
        updatedReplicas: want,
        readyReplicas: ready,
        availableReplicas: ready,
      };
      deployments.set(name, dep);
    }
  }
  return {
    kind: 'Seen',
    rendered,
    namespace,
    deployments,
    services,
    usage: opts.usage ?? 'NotRead',
  };
}

/** The member cluster before anything was applied. */
const empty = (p: Prod): Member => ({
  kind: 'Seen',
  rendered: render(p),
  deployments: new Map(),
  services: new Map(),
  usage: 'NotRead',
});

function observe(member: Member | undefined, more: Partial<Observed> = {}): Observed {
  return {
    now: T0,
    resyncMs: RESYNC,
    jitter: 0.5,
    where: { cluster: 'a' },
    member,
    ...more,
  };
}

const cond = (d: Decision, type: string) => d.status?.conditions?.find((c) => c.type === type);
const kinds = (d: Decision) => d.actions.map((a) => a.kind);
const applied = (d: Decision) =>
  d.actions
    .filter((a): a is Extract<Action, { kind: 'Apply' }> => a.kind === 'Apply')
    .flatMap((a) => a.objects.map((o) => `${o.gvr.resource}/${o.object.metadata.name}`));
const lifecycle = (d: Decision) =>
  d.events.filter((e) => e.action === 'Lifecycle').map((e) => e.note);

/** A decision's status stored, as the next reconcile reads it. */
const after = (p: Prod, d: Decision, spec: Partial<ProdSpec> = {}): Prod =>
  prodOf({ ...p.spec, ...spec }, d.status, p.metadata);

// ---------------------------------------------------------------------------------------------
// locate: where a Prod runs.

const view = (candidates: ClusterCandidate[], placed = [] as { app: string; cluster: string }[]) =>
  ({
    exists: (n: string) => candidates.some((c) => c.name === n),
    candidates: () => candidates,
    placed: () => placed,
  }) satisfies ClusterView;
const ok = (name: string, failureDomain: string): ClusterCandidate => ({
  name,
  failureDomain,
  ready: true,
  reachable: true,
  cordoned: false,
});
const never: ClusterView = {
  exists: () => true,
  candidates: () => assert.fail('placement asked for a placed Prod'),
  placed: () => assert.fail('placement asked for a placed Prod'),
};

test('locate: the spec names a cluster that exists, or ClusterNotFound', () => {
  const clusters = view([ok('a', 'dc-a')]);
  assert.deepEqual(locate(prodOf({ cluster: 'a' }), {}, clusters), { cluster: 'a' });
  assert.deepEqual(locate(prodOf({ cluster: 'nowhere' }), {}, clusters), {
    reason: 'ClusterNotFound',
    message: 'MemberCluster "nowhere" does not exist',
  });
});

test('locate: a recorded cluster or a remembered choice is kept, without asking placement', () => {
  assert.deepEqual(locate(prodOf({}, stored('Ready')), {}, never), { cluster: 'a' });
  assert.deepEqual(locate(prodOf(), { choice: 'b' }, never), { cluster: 'b' });
});

test('locate: a new Prod is placed (chosen), spread by app over failure domains', () => {
  const clusters = view([ok('a', 'dc-a'), ok('b', 'dc-b')], [{ app: 'shop', cluster: 'a' }]);
  assert.deepEqual(locate(prodOf(), {}, clusters), { cluster: 'b', chosen: true });
});

test('locate: no cluster available says why', () => {
  const where = locate(prodOf(), {}, view([{ ...ok('a', 'dc-a'), cordoned: true }]));
  assert.equal(where.reason, 'NoClusterAvailable');
  assert.match(where.message ?? '', /a: cordoned/);
  assert.equal(locate(prodOf(), {}, view([])).message, 'there is no MemberCluster');
});

test('locate: a retiring Prod is never placed; without the finalizer it is nobody’s', () => {
  const deleting = { deletionTimestamp: '2026-11-30T10:00:00Z' };
  assert.deepEqual(locate(prodOf({}, stored('Ready'), deleting), {}, never), { cluster: 'a' });
  assert.deepEqual(locate(prodOf({ retired: true }), { choice: 'b' }, never), { cluster: 'b' });
  assert.deepEqual(locate(prodOf({ retired: true }), {}, never), {});
  assert.deepEqual(
    locate(prodOf({}, stored('Retired'), { ...deleting, finalizers: [] }), {}, never),
    {},
  );
});

// ---------------------------------------------------------------------------------------------
// Pending: nowhere to go yet.

test('Pending: no cluster available, or the named one missing: a clear Ready condition and a Warning', () => {
  for (const where of [
    { reason: 'NoClusterAvailable', message: 'there is no MemberCluster' },
    { reason: 'ClusterNotFound', message: 'MemberCluster "nowhere" does not exist' },
  ] as Where[]) {
    const d = decide(prodOf({}, undefined, { finalizers: [] }), observe(undefined, { where }), {});
    assert.equal(d.status?.phase, 'Pending');
    assert.equal(d.status?.cluster, undefined);
    assert.deepEqual(
      { ...cond(d, 'Ready') },
      {
        type: 'Ready',
        status: 'False',
        reason: where.reason,
        message: where.message,
        observedGeneration: 1,
        lastTransitionTime: '2026-11-30T10:00:00Z',
      },
    );
    assert.deepEqual(kinds(d), ['AddFinalizer'], 'the finalizer is added, nothing else done');
    assert.deepEqual(lifecycle(d), [`new → Pending: ${where.message}`]);
    assert.ok(
      d.events.some(
        (e) => e.type === 'Warning' && e.reason === where.reason && e.action === 'Reconcile',
      ),
    );
    assert.equal(d.requeueAfterMs, undefined, 'a MemberCluster event brings it back');
  }
});

test('a new placement is remembered until the status records it', () => {
  const p = prodOf({}, undefined);
  const d = decide(p, observe(empty(p), { where: { cluster: 'b', chosen: true } }), {});
  assert.equal(d.memory?.choice, 'b');
  assert.equal(d.status?.cluster, 'b');
});

// ---------------------------------------------------------------------------------------------
// Pending → Provisioning → WarmingUp → Ready.

test('Pending → Provisioning: the cluster and namespace are recorded before anything is applied', () => {
  const p = prodOf({}, undefined, { finalizers: [] });
  const d = decide(p, observe(empty(p)), {});
  assert.equal(d.status?.phase, 'Provisioning');
  assert.equal(d.status?.cluster, 'a');
  assert.equal(d.status?.namespace, NS);
  assert.equal(cond(d, 'Ready')?.message, 'provisioning in a');
  assert.equal(cond(d, 'ClusterUnreachable')?.status, 'False');
  assert.deepEqual(kinds(d), ['AddFinalizer'], 'nothing applied before the record is written');
  assert.equal(d.requeueAfterMs, AT_ONCE_MS);
  assert.deepEqual(lifecycle(d), ['new → Provisioning: provisioning in a']);
  assert.equal(d.status?.phaseSince, '2026-11-30T10:00:00Z');
});

test('Provisioning: everything missing is applied, the namespace first; rolling out until Available', () => {
  const p = prodOf({}, stored('Provisioning'));
  const d = decide(p, observe(empty(p)), {});
  assert.deepEqual(applied(d), [
    'namespaces/prod-eu-1',
    'deployments/web',
    'services/web',
    'deployments/worker',
  ]);
  assert.equal(d.status?.phase, 'Provisioning');
  assert.deepEqual(
    { ...cond(d, 'Ready'), lastTransitionTime: undefined },
    {
      type: 'Ready',
      status: 'False',
      reason: 'Provisioning',
      message: 'rolling out 1.0.0: web 0/2, worker 0/1',
      observedGeneration: 1,
      lastTransitionTime: undefined,
    },
  );
  assert.equal(d.status?.phaseSince, '2026-11-30T09:00:00Z', 'the phase did not change');
  assert.deepEqual(d.status?.requests, { cpu: '0', memory: '0' });
  assert.equal(d.requeueAfterMs, RESYNC, 'resync (jitter 0.5: the middle of ±10 %)');
  assert.equal(decide(p, observe(empty(p), { jitter: 0 }), {}).requeueAfterMs, RESYNC * 0.9);
});

test('Provisioning: pods coming up are counted; nothing applied that is already there', () => {
  const p = prodOf({}, stored('Provisioning'));
  const d = decide(p, observe(running(p, { ready: 0 })), {});
  assert.deepEqual(kinds(d), []);
  assert.equal(cond(d, 'Ready')?.message, 'rolling out 1.0.0: web 0/2, worker 0/1');
  assert.deepEqual(
    d.status?.components?.map((c) => [c.name, c.ready]),
    [
      ['web', 0],
      ['worker', 0],
    ],
  );
});

test('Provisioning → WarmingUp: the phase is recorded before any warm-up request', () => {
  const p = prodOf(
    { warmup: { requests: { target: 'http://warm.example', path: '/w', count: 20 } } },
    stored('Provisioning'),
  );
  const d = decide(p, observe(running(p)), {});
  assert.equal(d.status?.phase, 'WarmingUp');
  assert.equal(cond(d, 'Ready')?.reason, 'WarmingUp');
  assert.equal(cond(d, 'Ready')?.message, 'every component Available');
  assert.deepEqual(kinds(d), [], 'no request yet');
  assert.equal(d.requeueAfterMs, AT_ONCE_MS);
  assert.equal(d.memory?.warm?.enteredAt, T0);
  assert.deepEqual(lifecycle(d), ['Provisioning → WarmingUp: every component Available']);
  assert.equal(d.status?.version, undefined, 'status.version is set once warm');
});

test('WarmingUp: the warm-up requests are sent, then decided on at once; the status stays', () => {
  const p0 = prodOf(
    { warmup: { requests: { target: 'http://warm.example', path: '/w', count: 20 } } },
    stored('Provisioning'),
  );
  const entered = decide(p0, observe(running(p0)), {});
  const p = after(p0, entered);
  const d = decide(p, observe(running(p), { now: T0 + 50 }), entered.memory!);
  assert.deepEqual(d.actions, [
    { kind: 'WarmUp', url: 'http://warm.example/w', count: 20, concurrency: 4 },
  ]);
  assert.equal(d.requeueAfterMs, AT_ONCE_MS);
  assert.deepEqual(d.status, p.status, 'nothing to write while the requests are out');
  assert.deepEqual(d.events, []);
});

test('WarmingUp: without a target, the first endpoint is warmed; without either, WarmupFailed', () => {
  const p = prodOf({ warmup: { requests: { path: '/w', count: 5 } } }, stored('WarmingUp'));
  const d = decide(p, observe(running(p)), {});
  assert.deepEqual(d.actions, [
    { kind: 'WarmUp', url: `http://web.${NS}.svc:8080/w`, count: 5, concurrency: 4 },
  ]);
  const headless = prodOf(
    {
      components: [{ name: 'worker', image: 'w:{{version}}' }],
      warmup: { requests: { count: 5 } },
    },
    stored('WarmingUp'),
  );
  const none = decide(headless, observe(running(headless)), {});
  assert.deepEqual(kinds(none), []);
  assert.equal(cond(none, 'Ready')?.reason, 'WarmupFailed');
  assert.match(cond(none, 'Ready')!.message, /no endpoint to warm up/);
  assert.equal(none.requeueAfterMs, RESYNC);
});

test('WarmingUp: failed requests are WarmupFailed with one Warning each, retried with a doubling delay', () => {
  const p = prodOf(
    { warmup: { requests: { target: 'http://u:secret@warm.example', count: 3 } } },
    stored('WarmingUp'),
  );
  const first = decide(p, observe(running(p)), {});
  const send = first.actions[0] as Extract<Action, { kind: 'WarmUp' }>;
  let mem = warmedUp(first.memory!, send, { failed: 3, firstError: 'HTTP 503' }, T0, 500);
  assert.equal(mem.warm?.retryAt, T0 + 500);

  const failedOnce = decide(p, observe(running(p), { now: T0 + 1 }), mem);
  const message =
    '3/3 warm-up requests to http://warm.example/ failed (first: HTTP 503); retrying in 1 s';
  assert.equal(cond(failedOnce, 'Ready')?.reason, 'WarmupFailed');
  assert.equal(cond(failedOnce, 'Ready')?.message, message, 'credentials are not shown');
  assert.equal(failedOnce.status?.phase, 'WarmingUp');
  assert.deepEqual(kinds(failedOnce), [], 'not before the retry time');
  assert.equal(failedOnce.requeueAfterMs, 499);
  assert.deepEqual(failedOnce.events, [
    { type: 'Warning', reason: 'WarmupFailed', action: 'WarmUp', note: message },
  ]);
  const again = decide(
    after(p, failedOnce),
    observe(running(p), { now: T0 + 2 }),
    failedOnce.memory!,
  );
  assert.deepEqual(again.events, [], 'one event per failed attempt');

  const retry = decide(p, observe(running(p), { now: T0 + 500 }), failedOnce.memory!);
  assert.deepEqual(kinds(retry), ['WarmUp']);
  mem = warmedUp(retry.memory!, send, { failed: 1, firstError: 'ECONNREFUSED' }, T0 + 600, 500);
  assert.equal(mem.warm?.retryAt, T0 + 600 + 1000, 'doubled');
  for (let i = 0; i < 10; i++) mem = warmedUp(mem, send, { failed: 1 }, T0, 500);
  assert.equal(mem.warm?.retryAt, T0 + 60_000, 'at most a minute');
  mem = warmedUp(mem, send, { failed: 0 }, T0, 500);
  assert.equal(mem.warm?.answered, true);
  assert.equal(mem.warm?.failure, undefined);
});

test('WarmingUp: answered, the minimum warm-up time is waited out, then Ready at this version', () => {
  const p0 = prodOf(
    { warmup: { requests: { target: 'http://warm.example', count: 2 }, minimumTime: '2s' } },
    stored('Provisioning', { version: undefined }),
  );
  const entered = decide(p0, observe(running(p0)), {});
  const p = after(p0, entered);
  const sent = decide(p, observe(running(p), { now: T0 + 100 }), entered.memory!);
  const mem = warmedUp(
    sent.memory!,
    sent.actions[0] as Extract<Action, { kind: 'WarmUp' }>,
    { failed: 0 },
    T0 + 300,
    500,
  );
  const waiting = decide(p, observe(running(p), { now: T0 + 300 }), mem);
  assert.deepEqual(kinds(waiting), []);
  assert.equal(
    cond(waiting, 'Ready')?.message,
    'warm-up requests answered; 2 s of minimum warm-up time left',
  );
  assert.equal(waiting.requeueAfterMs, 1700, 'from when the controller entered WarmingUp');

  const ready = decide(after(p, waiting), observe(running(p), { now: T0 + 2000 }), waiting.memory!);
  assert.equal(ready.status?.phase, 'Ready');
  assert.equal(ready.status?.version, '1.0.0');
  assert.deepEqual(
    [cond(ready, 'Ready')?.status, cond(ready, 'Ready')?.message],
    ['True', '1.0.0 running in a, warmed up'],
  );
  assert.equal(cond(ready, 'Degraded')?.status, 'False');
  assert.equal(ready.memory?.warm, undefined, 'warm-up progress forgotten');
  assert.equal(ready.requeueAfterMs, RESYNC);
  assert.deepEqual(lifecycle(ready), ['WarmingUp → Ready: 1.0.0 running in a, warmed up']);
});

test('WarmingUp without requests: the minimum time only; after a restart, phaseSince rounded up', () => {
  const p = prodOf(
    { warmup: { minimumTime: '1m' } },
    stored('WarmingUp', { phaseSince: '2026-11-30T09:59:30Z' }),
  );
  // No memory (a restart): 30 s spent by phaseSince, one more second for its rounding.
  const d = decide(p, observe(running(p)), {});
  assert.equal(
    cond(d, 'Ready')?.message,
    'warm-up without requests; 31 s of minimum warm-up time left',
  );
  assert.equal(d.requeueAfterMs, 31_000);
  const done = decide(p, observe(running(p), { now: T0 + 31_000 }), d.memory!);
  assert.equal(done.status?.phase, 'Ready');
});

test('WarmingUp with nothing to wait for: Ready on the next decision', () => {
  const p0 = prodOf({}, stored('Provisioning'));
  const entered = decide(p0, observe(running(p0)), {});
  assert.equal(entered.status?.phase, 'WarmingUp');
  const ready = decide(after(p0, entered), observe(running(p0)), entered.memory!);
  assert.equal(ready.status?.phase, 'Ready');
  assert.deepEqual(kinds(ready), []);
});

test('Ready and nothing changed: the same status (no write), no action, no event', () => {
  const p0 = prodOf({}, stored('Ready', { version: '1.0.0' }));
  const first = decide(p0, observe(running(p0)), { manifests: undefined });
  const p = after(p0, first);
  const d = decide(p, observe(running(p), { now: T0 + 60_000 }), first.memory!);
  assert.deepEqual(d.status, p.status);
  assert.deepEqual(d.actions, []);
  assert.deepEqual(d.events, []);
  assert.equal(cond(d, 'Ready')?.message, '1.0.0 running in a');
});

test('the same inputs give the same decision (no clock, no dice inside)', () => {
  const p = prodOf({ warmup: { minimumTime: '5s' } }, stored('WarmingUp'));
  assert.deepEqual(decide(p, observe(running(p)), {}), decide(p, observe(running(p)), {}));
});

// ---------------------------------------------------------------------------------------------
// Version changes and drift.

test('a version change: re-applied, Provisioning again, status.version kept until warm', () => {
  const p = prodOf({ version: '1.1.0' }, stored('Ready', { version: '1.0.0' }));
  const old = running(prodOf({}, stored('Ready')));
  const d = decide(p, observe({ ...old, rendered: render(p) }), {});
  assert.deepEqual(applied(d), ['deployments/web', 'deployments/worker']);
  assert.equal(d.status?.phase, 'Provisioning');
  assert.equal(d.status?.version, '1.0.0');
  assert.match(cond(d, 'Ready')!.message, /^rolling out 1\.1\.0/);
  assert.deepEqual(lifecycle(d), ['Ready → Provisioning: rolling out 1.1.0: web 2/2, worker 1/1']);

  // Rolled out at 1.1.0: warmed up again.
  const rolled = decide(after(p, d), observe(running(p)), d.memory!);
  assert.equal(rolled.status?.phase, 'WarmingUp');
  assert.deepEqual(lifecycle(rolled), ['Provisioning → WarmingUp: every component Available']);
});

test('drift: a Deployment scaled by hand is re-applied, without warming up again', () => {
  const p = prodOf({}, stored('Ready', { version: '1.0.0' }));
  const seen = running(p);
  const web = structuredClone(seen.deployments.get('web')!);
  web.spec!.replicas = 0;
  web.status = { ...web.status, replicas: 0, readyReplicas: 0, availableReplicas: 0 };
  const d = decide(
    p,
    observe({ ...seen, deployments: new Map([...seen.deployments, ['web', web]]) }),
    {},
  );
  assert.deepEqual(applied(d), ['deployments/web']);
  assert.equal(d.status?.phase, 'Ready', 'drift does not re-warm');
  assert.equal(d.status?.version, '1.0.0');
  assert.deepEqual(
    [cond(d, 'Ready')?.status, cond(d, 'Ready')?.reason, cond(d, 'Ready')?.message],
    ['False', 'ComponentsUnavailable', 'no ready replica: web'],
  );
  assert.equal(cond(d, 'Degraded')?.message, 'short of ready replicas: web 0/2');
});

test('drift: a Deployment or Service deleted by hand is applied again', () => {
  const p = prodOf({}, stored('Ready', { version: '1.0.0' }));
  const d = decide(p, observe(running(p, { skip: ['deployments/worker', 'services/web'] })), {});
  assert.deepEqual(applied(d), ['services/web', 'deployments/worker']);
  assert.equal(cond(d, 'Ready')?.message, 'no ready replica: worker');
});

test('short of replicas: Ready but Degraded', () => {
  const p = prodOf({}, stored('Ready', { version: '1.0.0' }));
  const seen = running(p);
  const web = structuredClone(seen.deployments.get('web')!);
  web.status = { ...web.status, readyReplicas: 1, availableReplicas: 1 };
  const d = decide(
    p,
    observe({ ...seen, deployments: new Map([...seen.deployments, ['web', web]]) }),
    {},
  );
  assert.deepEqual(kinds(d), []);
  assert.equal(cond(d, 'Ready')?.status, 'True');
  assert.equal(cond(d, 'Degraded')?.status, 'True');
});

test('a component the spec dropped is deleted', () => {
  const before = prodOf({}, stored('Ready', { version: '1.0.0' }));
  const p = prodOf(
    { components: [baseSpec.components![1]!] },
    stored('Ready', { version: '1.0.0' }),
  );
  const d = decide(p, observe({ ...running(before), rendered: render(p) }), {});
  assert.deepEqual(
    d.actions.filter((a) => a.kind === 'Delete'),
    [
      { kind: 'Delete', gvr: deploymentGvr, namespace: NS, name: 'web' },
      { kind: 'Delete', gvr: serviceGvr, namespace: NS, name: 'web' },
    ],
  );
});

test('manifests (not watched) are applied when they change and at each resync', () => {
  const manifests = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' } }];
  const p = prodOf({ manifests }, stored('Ready', { version: '1.0.0' }));
  const first = decide(p, observe(running(p)), {});
  assert.deepEqual(applied(first), ['configmaps/settings']);
  assert.equal(first.memory?.manifests?.at, T0);
  const quiet = decide(p, observe(running(p), { now: T0 + 60_000 }), first.memory!);
  assert.deepEqual(applied(quiet), []);
  const resync = decide(p, observe(running(p), { now: T0 + RESYNC }), first.memory!);
  assert.deepEqual(applied(resync), ['configmaps/settings']);
  const changed = prodOf(
    { manifests: [{ ...manifests[0], data: { a: '1' } }] },
    stored('Ready', { version: '1.0.0' }),
  );
  const edit = decide(changed, observe(running(changed), { now: T0 + 1 }), first.memory!);
  assert.deepEqual(applied(edit), ['configmaps/settings']);
});

test('InService while a Router routes tenants to it; Ready again once none does', () => {
  const ready = prodOf({}, stored('Ready', { version: '1.0.0' }));
  const routed = decide(ready, observe(running(ready), { routedBy: 'edge' }), {});
  assert.equal(routed.status?.phase, 'InService');
  assert.equal(cond(routed, 'Ready')?.status, 'True');
  const p = prodOf({}, stored('InService', { version: '1.0.0' }));
  assert.equal(decide(p, observe(running(p), { routedBy: 'edge' }), {}).status?.phase, 'InService');
  assert.equal(decide(p, observe(running(p)), {}).status?.phase, 'Ready');
});

test('warmed up at a new version while still routed (its Single tenants stay): InService at once', () => {
  const p0 = prodOf({}, stored('Provisioning'));
  const entered = decide(p0, observe(running(p0), { routedBy: 'edge' }), {});
  assert.equal(entered.status?.phase, 'WarmingUp');
  const done = decide(
    after(p0, entered),
    observe(running(p0), { routedBy: 'edge' }),
    entered.memory!,
  );
  assert.equal(done.status?.phase, 'InService');
  assert.equal(done.status?.version, '1.0.0');
});

test('usage: set when read, removed where the metrics API is not served, kept when not read', () => {
  const usage = { cpu: '120m', memory: '64Mi' };
  const p = prodOf({}, stored('Ready', { version: '1.0.0', usage: { cpu: '1', memory: '1Gi' } }));
  assert.deepEqual(decide(p, observe(running(p, { usage })), {}).status?.usage, usage);
  assert.equal(decide(p, observe(running(p, { usage: 'NotServed' })), {}).status?.usage, undefined);
  assert.ok(!('usage' in decide(p, observe(running(p, { usage: 'NotServed' })), {}).status!));
  assert.deepEqual(decide(p, observe(running(p)), {}).status?.usage, { cpu: '1', memory: '1Gi' });
});

test('usage is wanted once the stack runs: warmed at this version, or rolled out', () => {
  const p = prodOf({}, stored('Provisioning'));
  assert.equal(wantsUsage(p, render(p), new Map()), false);
  assert.equal(wantsUsage(p, render(p), running(p).deployments), true);
  const warm = prodOf({}, stored('Ready', { version: '1.0.0' }));
  assert.equal(wantsUsage(warm, render(warm), new Map()), true);
});

// ---------------------------------------------------------------------------------------------
// What stops a reconcile before anything is applied.

test('an unreachable cluster: ClusterUnreachable, Ready Unknown, phase kept, nothing done', () => {
  const p = prodOf({}, stored('Ready', { version: '1.0.0' }));
  for (const connected of [true, false]) {
    const d = decide(p, observe({ kind: 'Unreachable', connected }), {});
    assert.equal(d.status?.phase, 'Ready', 'the phase is left as it was');
    assert.equal(cond(d, 'ClusterUnreachable')?.status, 'True');
    assert.match(
      cond(d, 'ClusterUnreachable')!.message,
      connected ? /member cluster a is unreachable/ : /kubeconfig/,
    );
    assert.equal(cond(d, 'Ready')?.status, 'Unknown');
    assert.match(cond(d, 'Ready')!.message, /what runs there is left as it is$/);
    assert.deepEqual(d.actions, []);
    assert.deepEqual(d.events, []);
    assert.equal(d.requeueAfterMs, undefined, 'the connection coming back brings it back');
  }
});

test("a new connection's first lists not in yet: wait, apply nothing", () => {
  const p = prodOf({}, stored('Provisioning'));
  const d = decide(p, observe({ kind: 'Listing' }), {});
  assert.deepEqual(kinds(d), []);
  assert.equal(cond(d, 'Ready')?.reason, 'Provisioning');
  assert.equal(d.requeueAfterMs, LISTING_RETRY_MS);
});

test('a template error: TemplateError naming where, nothing applied, the cluster kept', () => {
  const p = prodOf({}, undefined);
  const d = decide(
    p,
    observe(
      {
        kind: 'Unrenderable',
        reason: 'TemplateError',
        message: 'spec.components[web].env[X]: unknown template variable {{flavour}}',
      },
      { where: { cluster: 'b', chosen: true } },
    ),
    {},
  );
  assert.equal(d.status?.phase, 'Pending');
  assert.equal(d.status?.cluster, 'b');
  assert.equal(d.status?.namespace, undefined, 'nothing was made');
  assert.equal(cond(d, 'Ready')?.reason, 'TemplateError');
  assert.match(cond(d, 'Ready')!.message, /\{\{flavour\}\}; nothing applied$/);
  assert.deepEqual(kinds(d), []);
  assert.ok(d.events.some((e) => e.type === 'Warning' && e.reason === 'TemplateError'));
});

test("another Prod's namespace, or one still being deleted: nothing applied", () => {
  const p = prodOf({}, stored('Provisioning'));
  const seen = running(p);
  const theirs = structuredClone(seen.namespace!);
  theirs.metadata.annotations = { [OWNER_ANNOTATION]: 'other/eu-1' };
  const taken = decide(p, observe({ ...seen, namespace: theirs }), {});
  assert.equal(cond(taken, 'Ready')?.reason, 'InvalidSpec');
  assert.equal(
    cond(taken, 'Ready')?.message,
    `namespace ${NS} in cluster a belongs to Prod other/eu-1`,
  );
  assert.deepEqual(kinds(taken), []);
  const going = structuredClone(seen.namespace!);
  going.metadata.deletionTimestamp = '2026-11-30T09:59:00Z';
  const deleting = decide(p, observe({ ...seen, namespace: going, deployments: new Map() }), {});
  assert.equal(cond(deleting, 'Ready')?.reason, 'Provisioning');
  assert.match(cond(deleting, 'Ready')!.message, /is still being deleted$/);
  assert.deepEqual(kinds(deleting), []);
});

test('an object the member cluster refused: InvalidSpec for a minute, then applied again', () => {
  const p = prodOf({}, stored('Provisioning'));
  const mem = refused({}, p, 'a refused Deployment prod-eu-1/web: invalid', T0);
  const d = decide(p, observe(empty(p), { now: T0 + 1000 }), mem);
  assert.deepEqual(kinds(d), []);
  assert.deepEqual(
    [cond(d, 'Ready')?.reason, cond(d, 'Ready')?.message],
    ['InvalidSpec', 'a refused Deployment prod-eu-1/web: invalid'],
  );
  assert.ok(d.events.some((e) => e.type === 'Warning' && e.reason === 'InvalidSpec'));
  assert.equal(d.requeueAfterMs, REFUSED_RETRY_MS - 1000);
  const later = decide(p, observe(empty(p), { now: T0 + REFUSED_RETRY_MS }), mem);
  assert.deepEqual(kinds(later), ['Apply']);
  assert.equal(later.memory?.refused, undefined);
  const fixed = prodOf({}, stored('Provisioning'), { generation: 2 });
  assert.deepEqual(
    kinds(decide(fixed, observe(empty(fixed)), mem)),
    ['Apply'],
    'a new spec is tried at once',
  );
});

test('an unexpected error: Degraded ReconcileError, everything else as stored', () => {
  const p = prodOf({}, stored('Ready', { version: '1.0.0' }));
  const st = failed(p, 'boom', T0);
  assert.equal(st.phase, 'Ready');
  assert.equal(st.version, '1.0.0');
  assert.deepEqual(
    st.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
    [['Degraded', 'True', 'ReconcileError', 'boom']],
  );
});

test('the finalizer is added first, before anything is applied', () => {
  const p = prodOf({}, stored('Provisioning'), { finalizers: [] });
  assert.deepEqual(kinds(decide(p, observe(empty(p)), {})), ['AddFinalizer', 'Apply']);
});

// ---------------------------------------------------------------------------------------------
// Draining → Retired.

const deleted = { deletionTimestamp: '2026-11-30T10:00:00Z' };
const leftovers = (namespace?: KubeObject, clusterScoped: KubeObject[] = []): Member => ({
  kind: 'Leftovers',
  namespace,
  clusterScoped: clusterScoped.map((object) => ({ gvr: clusterRoleGvr, object })),
});
const mine = (name: string, owner = 'shop/eu-1', more: Partial<KubeObject['metadata']> = {}) =>
  ({ metadata: { name, annotations: { [OWNER_ANNOTATION]: owner }, ...more } }) as KubeObject;

test('deleted: the namespace is deleted, Draining until it is gone, then Retired and let go', () => {
  const p = prodOf({}, stored('Ready', { version: '1.0.0', usage: { cpu: '1' } }), deleted);
  const draining = decide(p, observe(leftovers(mine(NS))), {});
  assert.equal(draining.status?.phase, 'Draining');
  assert.deepEqual(draining.actions, [{ kind: 'Delete', gvr: namespaceGvr, name: NS }]);
  assert.equal(cond(draining, 'Ready')?.reason, 'Draining');
  assert.equal(cond(draining, 'Ready')?.message, `deleting namespace ${NS} in a`);
  assert.equal(draining.requeueAfterMs, DRAIN_RECHECK_MS);
  assert.deepEqual(lifecycle(draining), [`Ready → Draining: deleting namespace ${NS} in a`]);
  assert.ok(draining.memory, 'remembered until retired');

  const p2 = after(p, draining);
  const terminating = mine(NS, 'shop/eu-1', { deletionTimestamp: '2026-11-30T10:00:01Z' });
  const waiting = decide(p2, observe(leftovers(terminating)), draining.memory!);
  assert.deepEqual(waiting.actions, [], 'not deleted twice');
  assert.deepEqual(waiting.status, p2.status, 'nothing new to write');

  const gone = decide(p2, observe(leftovers()), draining.memory!);
  assert.equal(gone.status?.phase, 'Retired');
  assert.deepEqual(gone.actions, [{ kind: 'RemoveFinalizer' }]);
  assert.deepEqual(
    [cond(gone, 'Ready')?.reason, cond(gone, 'Ready')?.message],
    ['Retired', 'removed from a'],
  );
  assert.deepEqual(gone.status?.components, []);
  assert.deepEqual(gone.status?.endpoints, []);
  assert.ok(!('usage' in gone.status!));
  assert.equal(gone.memory, undefined, 'forgotten');
  assert.deepEqual(lifecycle(gone), ['Draining → Retired: removed from a']);
});

test('spec.retired: the same drain, cluster-scoped manifests of its own deleted too', () => {
  const p = prodOf({ retired: true }, stored('Ready', { version: '1.0.0' }));
  const d = decide(
    p,
    observe(leftovers(mine(NS), [mine('shop-reader'), mine('someone-elses', 'x/y')])),
    {},
  );
  assert.deepEqual(d.actions, [
    { kind: 'Delete', gvr: clusterRoleGvr, name: 'shop-reader' },
    { kind: 'Delete', gvr: namespaceGvr, name: NS },
  ]);
  assert.equal(d.status?.phase, 'Draining');
});

test("deleted: a namespace that is someone else's is not ours to delete", () => {
  const p = prodOf({}, stored('Ready'), deleted);
  const d = decide(p, observe(leftovers(mine(NS, 'other/eu-1'))), {});
  assert.equal(d.status?.phase, 'Retired');
  assert.deepEqual(d.actions, [{ kind: 'RemoveFinalizer' }]);
});

test('deleted while its cluster is unreachable: Draining, ClusterUnreachable, the finalizer kept', () => {
  const p = prodOf({}, stored('Ready', { version: '1.0.0' }), deleted);
  const d = decide(p, observe({ kind: 'Unreachable', connected: true }), {});
  assert.equal(d.status?.phase, 'Draining');
  assert.equal(cond(d, 'ClusterUnreachable')?.status, 'True');
  assert.match(cond(d, 'Ready')!.message, /keeping the finalizer until it can$/);
  assert.deepEqual(d.actions, [], 'no RemoveFinalizer');
  assert.equal(d.requeueAfterMs, undefined);
});

test('deleted before anything was made: Retired at once, nothing was made', () => {
  const p = prodOf({}, { phase: 'Pending', cluster: 'a' }, deleted);
  const d = decide(p, observe(undefined, { where: { cluster: 'a' } }), {});
  assert.equal(d.status?.phase, 'Retired');
  assert.equal(cond(d, 'Ready')?.message, 'nothing was made');
  assert.deepEqual(d.actions, [{ kind: 'RemoveFinalizer' }]);
  const nowhere = decide(prodOf({}, undefined, deleted), observe(undefined, { where: {} }), {});
  assert.equal(nowhere.status?.phase, 'Retired');
});

test('retiring without the finalizer: not ours any more, nothing to do', () => {
  const p = prodOf({ retired: true }, stored('Retired'), { finalizers: [] });
  assert.deepEqual(decide(p, observe(undefined, { where: {} }), { choice: 'a' }), {
    actions: [],
    events: [],
  });
});
