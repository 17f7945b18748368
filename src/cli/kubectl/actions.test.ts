import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROMOTE_ANNOTATION, type Release } from '../../api/release.js';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import type { Prod } from '../../api/prod.js';
import { clusterOf } from '../../controllers/fleet/testing.js';
import {
  PREVIOUS_FAILOVER_MODE_ANNOTATION as PREV,
  drainChange,
  maintenanceChange,
  releaseChange,
  retireChange,
  uncordonChange,
} from './actions.js';

test('drain: spec.drain true; a cluster already draining is unchanged', () => {
  assert.deepEqual(drainChange(clusterOf('a', 'd')), {
    patch: { spec: { drain: true } },
    changes: ['spec.drain: false → true'],
  });
  assert.deepEqual(drainChange(clusterOf('a', 'd', { drain: true })), {
    changes: [],
    note: 'already draining',
  });
});

test('uncordon: drain and cordon both lifted, only what is set', () => {
  assert.deepEqual(uncordonChange(clusterOf('a', 'd', { drain: true, cordoned: true })), {
    patch: { spec: { drain: false, cordoned: false } },
    changes: ['spec.drain: true → false', 'spec.cordoned: true → false'],
  });
  assert.deepEqual(uncordonChange(clusterOf('a', 'd', { cordoned: true })).patch, {
    spec: { cordoned: false },
  });
  assert.equal(uncordonChange(clusterOf('a', 'd')).patch, undefined);
});

test('retire: spec.retired true, once', () => {
  const p = { metadata: { name: 'p' }, spec: {} } as Prod;
  assert.deepEqual(retireChange(p).patch, { spec: { retired: true } });
  p.spec.retired = true;
  assert.equal(retireChange(p).note, 'already retired');
});

const release = (status: Release['status'], spec: Partial<Release['spec']> = {}): Release => ({
  apiVersion: 'kachiku.io/v1alpha1',
  kind: 'Release',
  metadata: { name: 'web-2.0.0', namespace: 'shop' },
  spec: { fleet: 'web', version: '2.0.0', ...spec },
  status,
});
const baking: Release['status'] = {
  phase: 'Progressing',
  startTime: '2026-12-01T10:00:00Z',
  currentWave: 1,
  waves: [
    { step: 'test', prods: [], state: 'Passed' },
    { step: 'canary', prods: [], state: 'Baking' },
  ],
};

test('release pause, resume, abort: the spec fields; a finished Release refuses', () => {
  assert.deepEqual(releaseChange(release(baking), 'pause'), {
    patch: { spec: { paused: true } },
    changes: ['spec.paused: false → true'],
  });
  assert.equal(releaseChange(release(baking), 'resume').note, 'not paused');
  assert.deepEqual(releaseChange(release(baking, { paused: true }), 'resume').patch, {
    spec: { paused: false },
  });
  assert.deepEqual(releaseChange(release(baking), 'abort').patch, { spec: { aborted: true } });
  assert.throws(
    () => releaseChange(release({ ...baking, phase: 'Succeeded' }), 'pause'),
    /is Succeeded: nothing to pause/,
  );
});

test('release promote: the current wave index in the annotation, only while it runs or bakes', () => {
  assert.deepEqual(releaseChange(release(baking), 'promote'), {
    patch: { metadata: { annotations: { [PROMOTE_ANNOTATION]: '1' } } },
    changes: [`metadata.annotations.${PROMOTE_ANNOTATION}: (unset) → "1"`],
  });
  const promoted = release(baking);
  promoted.metadata.annotations = { [PROMOTE_ANNOTATION]: '1' };
  assert.equal(releaseChange(promoted, 'promote').note, 'wave 1 already promoted');
  assert.throws(
    () => releaseChange(release({ ...baking, currentWave: 0 }), 'promote'),
    /wave 0 is Passed\): nothing to promote/,
  );
  assert.throws(() => releaseChange(release({}), 'promote'), /no wave running or baking/);
});

const mirror = (failoverMode?: 'route53' | 'controller' | 'maintenance', kept?: string) =>
  ({
    metadata: { name: 'db', namespace: 'shop', ...(kept && { annotations: { [PREV]: kept } }) },
    spec: { dns: { recordNames: ['db.example'], ...(failoverMode && { failoverMode }) } },
  }) as unknown as LoadBalancerMirror;

test('mirror maintenance on keeps the mode it had; off puts it back and drops the annotation', () => {
  assert.deepEqual(maintenanceChange(mirror('controller'), true), {
    patch: {
      metadata: { annotations: { [PREV]: 'controller' } },
      spec: { dns: { failoverMode: 'maintenance' } },
    },
    changes: [
      `metadata.annotations.${PREV}: (unset) → "controller"`,
      'spec.dns.failoverMode: "controller" → "maintenance"',
    ],
  });
  assert.deepEqual(maintenanceChange(mirror('maintenance', 'controller'), false), {
    patch: {
      spec: { dns: { failoverMode: 'controller' } },
      metadata: { annotations: { [PREV]: null } },
    },
    changes: [
      'spec.dns.failoverMode: "maintenance" → "controller"',
      `metadata.annotations.${PREV}: "controller" → (unset)`,
    ],
  });
  // Put in maintenance by hand (no annotation): off goes to the default mode.
  assert.deepEqual(maintenanceChange(mirror('maintenance'), false).patch, {
    spec: { dns: { failoverMode: 'route53' } },
  });
  assert.equal(maintenanceChange(mirror('maintenance'), true).note, 'already in maintenance');
  assert.equal(maintenanceChange(mirror(), false).note, 'not in maintenance (mode route53)');
  const noDns = mirror();
  delete (noDns.spec as { dns?: unknown }).dns;
  assert.throws(() => maintenanceChange(noDns, true), /no spec.dns/);
});
