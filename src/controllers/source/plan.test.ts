import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Fleet, FleetSpec, FleetStatus } from '../../api/fleet.js';
import type { Release } from '../../api/release.js';
import {
  DEFAULT_INTERVAL_MS,
  POLL_RECORD_MAX_AGE_MS,
  decide,
  intervalOf,
  reasonOfError,
  withSource,
  type PollOutcome,
} from './plan.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const SHA = (c: string) => c.repeat(40);
const URL_ = 'https://git.example/team/shop.git';

function fleetOf(
  source: FleetSpec['source'],
  status?: FleetStatus,
  over: Partial<FleetSpec> = {},
): Fleet {
  return {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Fleet',
    metadata: { name: 'web', namespace: 'shop', uid: 'fleet-uid', generation: 3 },
    spec: {
      app: 'shop',
      version: 'v1.0.0',
      template: { capacity: 10, components: [{ name: 'web', image: 'r.example/web:{{version}}' }] },
      prods: { perDomain: 1 },
      ...(source && { source }),
      ...over,
    },
    ...(status && { status }),
  };
}

const gitSemver = (range = '^1.0.0', url = URL_) => ({ git: { url, ref: { semver: range } } });
const refs = (...tags: string[]): PollOutcome => ({
  kind: 'refs',
  refs: [
    { name: 'refs/heads/main', sha: SHA('a') },
    ...tags.map((t, i) => ({ name: `refs/tags/${t}`, sha: SHA(String(i + 1)) })),
  ],
});
const release = (version: string, name = `web-${version}`): Release => ({
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'Release',
  metadata: { name, namespace: 'shop' },
  spec: { fleet: 'web', version },
});

test('decide: a newer tag in the range → a Release <fleet>-<version> with the source, strategy, owner and label', () => {
  const strategy = { bakeTime: '30s', maxProdsPerWave: 2 };
  const fleet = fleetOf(gitSemver(), undefined, { release: { strategy } });
  const d = decide({
    fleet,
    outcome: refs('v1.0.0', 'v1.2.0', 'v1.1.0', 'v2.0.0'),
    releases: [],
    now: T0,
  });
  assert.equal(d.version, 'v1.2.0');
  assert.deepEqual(d.source, {
    version: 'v1.2.0',
    from: 'refs/tags/v1.2.0',
    foundTime: at(T0),
    lastPollTime: at(T0),
  });
  assert.equal(d.condition.status, 'True');
  assert.equal(d.condition.reason, 'SourceFound');
  assert.equal(d.condition.observedGeneration, 3);
  assert.match(d.condition.message, /v1\.2\.0 from refs\/tags\/v1\.2\.0: Release web-v1\.2\.0/);
  assert.equal(d.write, true);
  const r = d.release!;
  assert.equal(r.metadata.name, 'web-v1.2.0');
  assert.equal(r.metadata.namespace, 'shop');
  assert.deepEqual(r.metadata.labels, { 'kachiku.io/fleet': 'web' });
  assert.deepEqual(
    r.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid, o.controller]),
    [['Fleet', 'web', 'fleet-uid', true]],
  );
  assert.deepEqual(r.spec, {
    fleet: 'web',
    version: 'v1.2.0',
    source: `${URL_}@refs/tags/v1.2.0`,
    strategy,
  });
  assert.notEqual(r.spec.strategy, strategy, 'a copy');
  assert.deepEqual(
    d.events.map((e) => [e.type, e.action]),
    [['Normal', 'CreateRelease']],
  );
});

test('decide: the Release exists (by any name), or the Fleet runs the version → no Release', () => {
  const fleet = fleetOf(gitSemver());
  const made = decide({
    fleet,
    outcome: refs('v1.2.0'),
    releases: [release('v1.2.0', 'by-hand')],
    now: T0,
  });
  assert.equal(made.release, undefined);
  assert.match(made.condition.message, /Release by-hand$/);
  assert.deepEqual(made.events, []);

  const runs = decide({
    fleet: fleetOf(gitSemver(), undefined, { version: 'v1.2.0' }),
    outcome: refs('v1.2.0'),
    releases: [],
    now: T0,
  });
  assert.equal(runs.release, undefined);
  assert.match(runs.condition.message, /the Fleet runs it/);
});

test('decide: an older version newest again (a tag deleted) under semver → reported, not released', () => {
  const fleet = fleetOf(gitSemver(), undefined, { version: 'v1.3.0' });
  const d = decide({ fleet, outcome: refs('v1.1.0', 'v1.2.0'), releases: [], now: T0 });
  assert.equal(d.release, undefined);
  assert.equal(d.condition.status, 'True');
  assert.match(d.condition.message, /v1\.2\.0 .*older than the Fleet's v1\.3\.0.*not released/);
  // Not semver-ordered (a branch): the head is what is wanted, whatever its name.
  const branch = fleetOf({ git: { url: URL_, ref: { branch: 'main' } } }, undefined, {
    version: 'zzz',
  });
  const head = decide({ fleet: branch, outcome: refs(), releases: [], now: T0 });
  assert.equal(head.release?.spec.version, SHA('a').slice(0, 12));
  assert.equal(head.release?.spec.source, `${URL_}@refs/heads/main@${SHA('a')}`);
  assert.equal(head.source?.from, `refs/heads/main@${SHA('a')}`);
});

test('decide: errors → SourceReady False with the reason, the last version kept, never a Release', () => {
  const stored: FleetStatus = {
    source: {
      version: 'v1.1.0',
      from: 'refs/tags/v1.1.0',
      foundTime: at(T0 - 60_000),
      lastPollTime: at(T0 - 60_000),
    },
  };
  const fleet = fleetOf(gitSemver(), stored);
  for (const reason of ['SourceUnreachable', 'SourceAuthFailed', 'SourceNotFound'] as const) {
    const d = decide({
      fleet,
      outcome: { kind: 'error', reason, message: `git lsRemote: ${reason}` },
      releases: [],
      now: T0,
    });
    assert.equal(d.release, undefined, reason);
    assert.equal(d.condition.status, 'False');
    assert.equal(d.condition.reason, reason);
    assert.match(d.condition.message, new RegExp(reason));
    assert.deepEqual(d.source, { ...stored.source, lastPollTime: at(T0) });
    assert.equal(d.write, true);
    assert.deepEqual(
      d.events.map((e) => [e.type, e.reason]),
      [['Warning', reason]],
    );
  }
  const none = decide({ fleet, outcome: refs('v2.0.0', 'latest'), releases: [], now: T0 });
  assert.equal(none.condition.reason, 'NoMatchingVersion');
  assert.equal(none.release, undefined);
  const bad = decide({
    fleet: fleetOf(gitSemver('>=1.0.0 <<2')),
    outcome: refs('v1.0.0'),
    releases: [],
    now: T0,
  });
  assert.equal(bad.condition.reason, 'InvalidPolicy');
  assert.match(bad.condition.message, /not valid/);
  assert.equal(bad.release, undefined);
  const regex = decide({
    fleet: fleetOf({
      image: {
        repository: 'r.example/web',
        policy: { numerical: {} },
        filterTags: { pattern: '(' },
      },
    }),
    outcome: { kind: 'tags', tags: ['1', '2'] },
    releases: [],
    now: T0,
  });
  assert.equal(regex.condition.reason, 'InvalidPolicy');

  assert.equal(reasonOfError('Unreachable'), 'SourceUnreachable');
  assert.equal(reasonOfError('BadResponse'), 'SourceUnreachable');
  assert.equal(reasonOfError('AuthFailed'), 'SourceAuthFailed');
  assert.equal(reasonOfError('NotFound'), 'SourceNotFound');
  assert.equal(reasonOfError('Invalid'), 'InvalidPolicy');
});

test('decide: a steady source is written only when lastPollTime is POLL_RECORD_MAX_AGE_MS old; an error again is no new event', () => {
  const fleet0 = fleetOf(gitSemver(), undefined, { version: 'v1.2.0' });
  const first = decide({ fleet: fleet0, outcome: refs('v1.2.0'), releases: [], now: T0 });
  assert.equal(first.write, true);
  const stored = withSource(undefined, first);
  const later = (ms: number) =>
    decide({
      fleet: fleetOf(gitSemver(), stored, { version: 'v1.2.0' }),
      outcome: refs('v1.2.0'),
      releases: [],
      now: T0 + ms,
    });
  assert.equal(later(60_000).write, false);
  assert.equal(later(60_000).source?.foundTime, at(T0), 'first seen then');
  assert.equal(later(POLL_RECORD_MAX_AGE_MS - 1).write, false);
  assert.equal(later(POLL_RECORD_MAX_AGE_MS).write, true);

  const down = decide({
    fleet: fleetOf(gitSemver(), stored),
    outcome: { kind: 'error', reason: 'SourceUnreachable', message: 'down' },
    releases: [],
    now: T0 + 10_000,
  });
  const storedDown = withSource(stored, down);
  const again = decide({
    fleet: fleetOf(gitSemver(), storedDown),
    outcome: { kind: 'error', reason: 'SourceUnreachable', message: 'down' },
    releases: [],
    now: T0 + 20_000,
  });
  assert.deepEqual(again.events, []);
  assert.equal(again.write, false);
  assert.equal(again.condition.lastTransitionTime, down.condition.lastTransitionTime);
});

test('decide: an image source by semver; credentials in a git URL never reach the Release', () => {
  const fleet = fleetOf(
    {
      image: {
        repository: '127.0.0.1:5000/team/web',
        insecure: true,
        policy: { semver: { range: '>=1.1.0 <2.0.0' } },
      },
    },
    undefined,
    { version: '1.0.0' },
  );
  const d = decide({
    fleet,
    outcome: { kind: 'tags', tags: ['1.0.0', '1.1.0', '1.5.2', '2.0.0', 'latest'] },
    releases: [],
    now: T0,
  });
  assert.equal(d.release?.metadata.name, 'web-1.5.2');
  assert.equal(d.release?.spec.source, '127.0.0.1:5000/team/web:1.5.2');
  assert.equal(d.source?.from, '127.0.0.1:5000/team/web:1.5.2');
  const out = decide({
    fleet,
    outcome: { kind: 'tags', tags: ['1.0.0', '2.0.0'] },
    releases: [],
    now: T0,
  });
  assert.equal(out.release, undefined, 'tags outside the range: nothing');
  assert.equal(out.condition.reason, 'NoMatchingVersion');

  const secret = decide({
    fleet: fleetOf(gitSemver('^1.0.0', 'https://user:hunter2@git.example/x.git')),
    outcome: refs('v1.1.0'),
    releases: [],
    now: T0,
  });
  assert.equal(secret.release?.spec.source, 'https://git.example/x.git@refs/tags/v1.1.0');
  assert.doesNotMatch(JSON.stringify(secret), /hunter2/);
});

test('withSource: only status.source and SourceReady change, SourceReady in its place; no source → both removed', () => {
  const other = {
    type: 'Ready',
    status: 'True' as const,
    lastTransitionTime: at(T0),
    reason: 'Placed',
    message: '',
  };
  const oldSource = {
    type: 'SourceReady',
    status: 'False' as const,
    lastTransitionTime: at(T0),
    reason: 'SourceUnreachable',
    message: '',
  };
  const tail = { ...other, type: 'ProdsReady' };
  const fresh: FleetStatus = {
    readyProds: 4,
    release: 'web-v1.1.0',
    conditions: [other, oldSource, tail],
  };
  const d = decide({
    fleet: fleetOf(gitSemver(), fresh),
    outcome: refs('v1.1.0'),
    releases: [],
    now: T0,
  });
  const out = withSource(fresh, d);
  assert.equal(out.readyProds, 4);
  assert.equal(out.release, 'web-v1.1.0');
  assert.deepEqual(
    out.conditions?.map((c) => [c.type, c.status]),
    [
      ['Ready', 'True'],
      ['SourceReady', 'True'],
      ['ProdsReady', 'True'],
    ],
  );
  assert.equal(out.source?.version, 'v1.1.0');

  const removed = decide({
    fleet: fleetOf(undefined, out),
    outcome: { kind: 'tags', tags: [] },
    releases: [],
    now: T0,
  });
  assert.equal(removed.write, true);
  const cleared = withSource(out, removed);
  assert.equal(cleared.source, undefined);
  assert.deepEqual(
    cleared.conditions?.map((c) => c.type),
    ['Ready', 'ProdsReady'],
  );
  assert.equal(
    decide({
      fleet: fleetOf(undefined, cleared),
      outcome: { kind: 'tags', tags: [] },
      releases: [],
      now: T0,
    }).write,
    false,
  );
});

test('intervalOf: spec.source.interval, else 1m', () => {
  assert.equal(intervalOf({ git: { url: URL_, ref: { branch: 'main' } } }), DEFAULT_INTERVAL_MS);
  assert.equal(intervalOf({ git: { url: URL_, ref: { branch: 'main' } }, interval: '2s' }), 2000);
  assert.equal(
    intervalOf({ git: { url: URL_, ref: { branch: 'main' } }, interval: '10m' }),
    600_000,
  );
});
