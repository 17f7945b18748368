import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FleetStatus } from '../../api/fleet.js';
import { carryForeign } from './foreign.js';

const c = (type: string, reason = 'R') => ({
  type,
  status: 'True' as const,
  lastTransitionTime: '2026-12-01T10:00:00Z',
  reason,
  message: '',
});

test('carryForeign: a retried write (409) keeps what the poller wrote since, not the copy decide() read', () => {
  // decide() computed from an older object: its source and SourceReady are stale.
  const computed: FleetStatus = {
    readyProds: 3,
    source: { version: '1.0.0' },
    conditions: [c('Ready'), c('SourceReady', 'SourceUnreachable'), c('ProdsReady')],
  };
  const fresh: FleetStatus = {
    readyProds: 2,
    source: { version: '1.1.0' },
    release: 'web-1.1.0',
    conditions: [c('SourceReady', 'SourceFound'), c('Ready')],
  };
  const out = carryForeign(fresh, computed);
  assert.equal(out.readyProds, 3, 'its own parts as computed');
  assert.deepEqual(out.source, { version: '1.1.0' });
  assert.equal(out.release, 'web-1.1.0');
  assert.deepEqual(
    out.conditions?.map((x) => `${x.type}:${x.reason}`),
    ['Ready:R', 'SourceReady:SourceFound', 'ProdsReady:R'],
  );
  // The poller removed its part (the source was taken out of the spec): it stays removed.
  const gone = carryForeign({ conditions: [c('Ready')] }, computed);
  assert.equal(gone.source, undefined);
  assert.deepEqual(
    gone.conditions?.map((x) => x.type),
    ['Ready', 'ProdsReady'],
  );
  assert.deepEqual(carryForeign(undefined, { readyProds: 1 }), { readyProds: 1 });
});
