import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MirrorPolicy } from '../../api/mirrorpolicy.js';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import {
  SPEC_HASH_ANNOTATION,
  dnsLabel,
  globMatch,
  mirrorName,
  mirrorSpec,
  newMirror,
  planLoadBalancer,
  planPolicy,
  selects,
  specHash,
  type ListedLoadBalancer,
} from './plan.js';

const ID1 = '11111111-1111-4111-8111-111111111111';
const ID2 = '22222222-2222-4222-8222-222222222222';
const MIN = 60_000;
const NOW = Date.parse('2026-01-01T00:10:00Z');

function policy(
  over: Partial<MirrorPolicy['spec']> = {},
  status?: MirrorPolicy['status'],
): MirrorPolicy {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'MirrorPolicy',
    metadata: { name: 'web', namespace: 'ns', uid: 'policy-uid', generation: 1 },
    spec: {
      octavia: { cloud: 'lab', selector: { tags: ['kachiku-mirror'] } },
      template: {
        aws: { region: 'us-east-1', vpcID: 'vpc-12345678', subnetIDs: ['subnet-12345678'] },
        dns: {
          hostedZone: { name: 'example.com.' },
          recordNames: ['{{name}}.{{zone}}', '{{id}}.lb.{{zone}}'],
          failoverMode: 'maintenance',
        },
      },
      ...over,
    },
    ...(status && { status }),
  };
}

const lb = (id: string, name = 'Web App', tags = ['kachiku-mirror']): ListedLoadBalancer => ({
  id,
  name,
  project_id: 'p1',
  provisioning_status: 'ACTIVE',
  tags,
});

function ours(p: MirrorPolicy, l: ListedLoadBalancer, created = '2026-01-01T00:00:00Z') {
  const m = newMirror(p, l, mirrorSpec(p, l));
  m.metadata.uid = `uid-${l.id}`;
  m.metadata.creationTimestamp = created;
  return m;
}

function handMade(id: string, name = 'by-hand'): LoadBalancerMirror {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'LoadBalancerMirror',
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      creationTimestamp: '2026-01-01T00:05:00Z',
    },
    spec: {
      octavia: { loadBalancerID: id, cloud: 'lab' },
      aws: { region: 'us-east-1', vpcID: 'vpc-12345678', subnetIDs: ['subnet-12345678'] },
    },
  };
}

test('selection: tags (all of them), project, glob on the name, all; deleting load balancers never', () => {
  assert.ok(selects({ tags: ['a', 'b'] }, { ...lb(ID1), tags: ['b', 'a', 'c'] }));
  assert.ok(!selects({ tags: ['a', 'b'] }, { ...lb(ID1), tags: ['a'] }));
  assert.ok(!selects({ projectID: 'p2' }, lb(ID1)));
  assert.ok(selects({ namePattern: 'Web*' }, lb(ID1)));
  assert.ok(!selects({ namePattern: 'web*' }, lb(ID1)));
  assert.ok(selects({ all: true }, lb(ID1, 'x', [])));
  assert.ok(!selects({ all: true }, { ...lb(ID1), provisioning_status: 'PENDING_DELETE' }));
  assert.ok(globMatch('a?c.*', 'abc.d(e)'));
  assert.ok(!globMatch('a.c', 'abc'), 'a dot is a dot');
});

test('record names from templates; {{name}} as a DNS label; {{zone}} needs the zone by name', () => {
  const spec = mirrorSpec(policy(), lb(ID1, 'Web App_1'));
  assert.deepEqual(spec.dns?.recordNames, ['web-app-1.example.com', `${ID1}.lb.example.com`]);
  assert.equal(dnsLabel('---', ID1), ID1);
  assert.equal(spec.octavia.loadBalancerID, ID1);
  assert.equal(spec.octavia.cloud, 'lab');
  assert.equal(spec.deletionPolicy, 'Delete');
  const byId = policy();
  byId.spec.template.dns!.hostedZone = { id: 'Z123' };
  const plan = planPolicy({ policy: byId, listed: [lb(ID1)], mirrors: [], now: NOW, graceMs: MIN });
  assert.match(plan.invalid ?? '', /\{\{zone\}\}/);
  assert.equal(plan.create.length, 0);
});

test('one mirror per match, deterministic, owned and labelled', () => {
  const p = policy();
  const plan = planPolicy({
    policy: p,
    listed: [lb(ID1), lb(ID2, 'other', [])],
    mirrors: [],
    now: NOW,
    graceMs: MIN,
  });
  assert.equal(plan.create.length, 1);
  const m = plan.create[0]!;
  assert.equal(m.metadata.name, `web-${ID1}`);
  assert.equal(m.metadata.name, mirrorName('web', ID1));
  assert.equal(m.metadata.labels?.['kachiku.io/mirror-policy'], 'web');
  assert.equal(m.metadata.labels?.['kachiku.io/octavia-load-balancer'], ID1);
  assert.deepEqual(
    m.metadata.ownerReferences?.map((r) => [r.kind, r.uid, r.controller]),
    [['MirrorPolicy', 'policy-uid', true]],
  );
  assert.equal(plan.status.matched, 1);
  assert.equal(plan.status.mirrors, 1);
  // Planned again with the mirror there: nothing to do.
  const again = planPolicy({
    policy: p,
    listed: [lb(ID1)],
    mirrors: [ours(p, lb(ID1))],
    now: NOW,
    graceMs: MIN,
  });
  assert.deepEqual([again.create.length, again.update.length, again.delete.length], [0, 0, 0]);
});

test('an edited template updates the mirrors (by the spec hash)', () => {
  const p = policy();
  const m = ours(p, lb(ID1));
  const edited = policy({ template: { ...p.spec.template, syncInterval: '30s' } });
  const plan = planPolicy({
    policy: edited,
    listed: [lb(ID1)],
    mirrors: [m],
    now: NOW,
    graceMs: MIN,
  });
  assert.equal(plan.update.length, 1);
  assert.equal(plan.update[0]!.spec.syncInterval, '30s');
  assert.equal(plan.update[0]!.hash, specHash(mirrorSpec(edited, lb(ID1))));
  assert.notEqual(plan.update[0]!.hash, m.metadata.annotations?.[SPEC_HASH_ANNOTATION]);
});

test('a mirror made by hand wins: no mirror made, ours deleted, the conflict reported', () => {
  const p = policy();
  let plan = planPolicy({
    policy: p,
    listed: [lb(ID1)],
    mirrors: [handMade(ID1)],
    now: NOW,
    graceMs: MIN,
  });
  assert.equal(plan.create.length, 0);
  assert.deepEqual(plan.status.conflicts, [
    {
      loadBalancerID: ID1,
      mirror: 'by-hand',
      reason: 'mirrored by a LoadBalancerMirror made by hand',
    },
  ]);
  plan = planPolicy({
    policy: p,
    listed: [lb(ID1)],
    mirrors: [ours(p, lb(ID1)), handMade(ID1)],
    now: NOW,
    graceMs: MIN,
  });
  assert.deepEqual(
    plan.delete.map((d) => d.mirror.metadata.name),
    [`web-${ID1}`],
  );
  assert.equal(plan.status.mirrors, 0);
});

test("another policy's mirror: the older one stays", () => {
  const p = policy();
  const q = policy();
  q.metadata = { ...q.metadata, name: 'other', uid: 'other-uid' };
  const theirs = ours(q, lb(ID1), '2026-01-01T00:00:00Z');
  const mine = ours(p, lb(ID1), '2026-01-01T00:00:01Z');
  let plan = planPolicy({
    policy: p,
    listed: [lb(ID1)],
    mirrors: [theirs, mine],
    now: NOW,
    graceMs: MIN,
  });
  assert.equal(plan.delete.length, 1);
  plan = planPolicy({
    policy: q,
    listed: [lb(ID1)],
    mirrors: [theirs, mine],
    now: NOW,
    graceMs: MIN,
  });
  assert.equal(plan.delete.length, 0);
  assert.equal(plan.status.conflicts?.length, 0);
});

test('gone from Octavia: missing first, deleted only after a whole grace period of successful lists', () => {
  const p = policy();
  const m = ours(p, lb(ID1));
  let plan = planPolicy({ policy: p, listed: [], mirrors: [m], now: NOW, graceMs: 5 * MIN });
  assert.equal(plan.delete.length, 0);
  assert.deepEqual(plan.status.missing, [
    { loadBalancerID: ID1, mirror: m.metadata.name, since: new Date(NOW).toISOString() },
  ]);
  assert.equal(plan.graceEndsInMs, 5 * MIN);
  const p2 = policy({}, { missing: plan.status.missing });
  // A failed list: nothing counts, the missing entry stays as it was.
  plan = planPolicy({
    policy: p2,
    listed: undefined,
    mirrors: [m],
    now: NOW + 10 * MIN,
    graceMs: 5 * MIN,
  });
  assert.equal(plan.delete.length, 0);
  assert.deepEqual(plan.status.missing, p2.status!.missing);
  assert.equal(plan.status.matched, undefined);
  // Back in the list: no longer missing.
  plan = planPolicy({
    policy: p2,
    listed: [lb(ID1)],
    mirrors: [m],
    now: NOW + MIN,
    graceMs: 5 * MIN,
  });
  assert.deepEqual(plan.status.missing, []);
  // Still gone past the grace: deleted.
  plan = planPolicy({ policy: p2, listed: [], mirrors: [m], now: NOW + 5 * MIN, graceMs: 5 * MIN });
  assert.deepEqual(
    plan.delete.map((d) => d.mirror.metadata.name),
    [m.metadata.name],
  );
  assert.equal(plan.status.mirrors, 0);
});

test('a failed list makes and deletes nothing', () => {
  const p = policy({}, { conflicts: [{ loadBalancerID: ID2, mirror: 'x', reason: 'r' }] });
  const plan = planPolicy({
    policy: p,
    listed: undefined,
    mirrors: [ours(p, lb(ID1))],
    now: NOW,
    graceMs: 0,
  });
  assert.deepEqual([plan.create.length, plan.update.length, plan.delete.length], [0, 0, 0]);
  assert.deepEqual(plan.status.conflicts, p.status!.conflicts);
});

/** The share of a full plan for one load balancer, shaped as planLoadBalancer's decision. */
function shareOf(plan: ReturnType<typeof planPolicy>, id: string) {
  const create = plan.create.find((m) => m.spec.octavia.loadBalancerID === id);
  const update = plan.update.find((u) => u.mirror.spec.octavia.loadBalancerID === id);
  const del = plan.delete.find((d) => d.mirror.spec.octavia.loadBalancerID === id);
  const conflict = plan.status.conflicts?.find((c) => c.loadBalancerID === id);
  return {
    ...(create && { create }),
    ...(update && { update }),
    ...(del && { delete: del }),
    ...(conflict && { conflict }),
    ...(plan.invalid && { invalid: plan.invalid }),
  };
}

test("one notified load balancer: its plan is exactly the full plan's share for it, case by case", () => {
  const p = policy();
  const edited = policy();
  edited.spec.template = { ...edited.spec.template, syncInterval: '30s' };
  const q = policy();
  q.metadata = { ...q.metadata, name: 'other', uid: 'other-uid' };
  const badZone = policy();
  badZone.spec.template.dns = {
    ...badZone.spec.template.dns!,
    hostedZone: { id: 'Z123' },
  };
  const cases: {
    name: string;
    policy: MirrorPolicy;
    mirrors: LoadBalancerMirror[];
    expect: string[];
  }[] = [
    { name: 'new', policy: p, mirrors: [], expect: ['create'] },
    { name: 'mirrored already', policy: p, mirrors: [ours(p, lb(ID1))], expect: [] },
    { name: 'template edited', policy: edited, mirrors: [ours(p, lb(ID1))], expect: ['update'] },
    {
      name: 'made by hand, none of ours',
      policy: p,
      mirrors: [handMade(ID1)],
      expect: ['conflict'],
    },
    {
      name: 'made by hand and ours',
      policy: p,
      mirrors: [ours(p, lb(ID1)), handMade(ID1)],
      expect: ['delete', 'conflict'],
    },
    {
      name: "another policy's, older",
      policy: p,
      mirrors: [ours(q, lb(ID1)), ours(p, lb(ID1), '2026-01-01T00:00:01Z')],
      expect: ['delete', 'conflict'],
    },
    {
      name: "another policy's, younger",
      policy: p,
      mirrors: [ours(q, lb(ID1), '2026-01-01T00:00:01Z'), ours(p, lb(ID1))],
      expect: [],
    },
    { name: 'invalid template', policy: badZone, mirrors: [], expect: ['invalid'] },
  ];
  for (const c of cases) {
    // Another load balancer in the list and its mirror change nothing of ID1's share.
    const mirrors = [...c.mirrors, handMade(ID2, 'by-hand-2')];
    const full = planPolicy({
      policy: c.policy,
      listed: [lb(ID1), lb(ID2)],
      mirrors,
      now: NOW,
      graceMs: MIN,
    });
    const one = planLoadBalancer(c.policy, lb(ID1), mirrors);
    const share = shareOf(full, ID1);
    assert.deepEqual(Object.keys(one ?? {}).sort(), c.expect.sort(), c.name);
    assert.deepEqual(one, share, c.name);
  }
});

test('one notified load balancer: a hand-made mirror still wins; one the policy does not select is left to the list', () => {
  const p = policy();
  const d = planLoadBalancer(p, lb(ID1), [ours(p, lb(ID1)), handMade(ID1)]);
  assert.equal(d?.create, undefined);
  assert.equal(d?.delete?.mirror.metadata.name, mirrorName('web', ID1));
  assert.equal(d?.conflict?.mirror, 'by-hand');
  assert.equal(planLoadBalancer(p, lb(ID1), [handMade(ID1)])?.create, undefined);
  // Untagged since: no create, and no delete either (the grace period is the list's).
  assert.equal(planLoadBalancer(p, lb(ID1, 'Web App', []), [ours(p, lb(ID1))]), undefined);
  assert.equal(
    planLoadBalancer(p, { ...lb(ID1), provisioning_status: 'PENDING_DELETE' }, []),
    undefined,
  );
});
