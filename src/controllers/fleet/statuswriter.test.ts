import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { TenantStatusWriter } from './statuswriter.js';
import { tenantOf } from './testing.js';
import type { TenantChange } from './tenants.js';

const change = (name: string, primary: string): TenantChange => ({
  tenant: tenantOf(name),
  status: { prods: { primary } },
});

test('TenantStatusWriter: bounded in flight, one write per Tenant at a time, the latest status wins, settled per owner', async () => {
  const written: string[] = [];
  let inFlight = 0;
  let most = 0;
  const busy = new Set<string>();
  const release: (() => void)[] = [];
  const w = new TenantStatusWriter(
    async (c) => {
      const name = c.tenant.metadata.name;
      assert.ok(!busy.has(name), `${name} written twice at once`);
      busy.add(name);
      most = Math.max(most, ++inFlight);
      await new Promise<void>((r) => release.push(r));
      inFlight--;
      busy.delete(name);
      written.push(`${name}:${c.status.prods?.primary}`);
    },
    4,
    () => assert.fail('no error expected'),
  );
  w.submit(
    'ns/a',
    Array.from({ length: 10 }, (_, i) => change(`t${i}`, 'p1')),
  );
  // t0 is in flight: a newer status for it waits; t9 is pending: replaced.
  w.submit('ns/a', [change('t0', 'p2'), change('t9', 'p3')]);
  w.submit('ns/b', [change('u0', 'p1')]);
  let settledA = false;
  const a = w.settled('ns/a').then(() => (settledA = true));
  assert.ok(w.busy('ns/a') && w.busy('ns/b'));
  while (release.length || w.busy('ns/a') || w.busy('ns/b')) {
    release.shift()?.();
    await tick();
  }
  await a;
  assert.ok(settledA);
  assert.equal(most, 4);
  assert.equal(written.filter((x) => x.startsWith('t9')).join(), 't9:p3', 'pending t9 replaced');
  assert.deepEqual(
    written.filter((x) => x.startsWith('t0:')),
    ['t0:p1', 't0:p2'],
    'the in-flight write of t0, then the newer one',
  );
  assert.equal(written.length, 12);
  await w.settled('ns/nothing');
});

test('TenantStatusWriter: a failed write is told with its owner; the others go on', async () => {
  const errors: string[] = [];
  const done: string[] = [];
  const w = new TenantStatusWriter(
    async (c) => {
      if (c.tenant.metadata.name === 'bad') throw new Error('boom');
      done.push(c.tenant.metadata.name);
    },
    2,
    (owner, err) => errors.push(`${owner}: ${(err as Error).message}`),
  );
  w.submit('ns/f', [change('bad', 'p1'), change('ok1', 'p1'), change('ok2', 'p1')]);
  await w.settled('ns/f');
  assert.deepEqual(errors, ['ns/f: boom']);
  assert.deepEqual(done.sort(), ['ok1', 'ok2']);
});
