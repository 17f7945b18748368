// Property tests of decide() over random fleets and random step sequences (reconciles, time,
// alerts, pauses, aborts, restarts that forget the last gate check), in the small world of
// testing.ts. Seeded: a failure is reproduced by running again, and shrunk by fast-check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HOLD_ANNOTATION } from '../../api/release.js';
import type { Prod } from '../../api/prod.js';
import { fleetOf, prodOf, tenantOf } from '../fleet/testing.js';
import { serving } from '../fleet/prods.js';
import { World, releaseOf, routedFleet } from './testing.js';

const SEED = Number(process.env.RELEASE_SEED ?? 20261130);
const CLUSTERS = ['a', 'b', 'c'];

const arbFleet = fc
  .record({
    prods: fc.array(fc.record({ cluster: fc.constantFrom(...CLUSTERS), test: fc.boolean() }), {
      minLength: 2,
      maxLength: 8,
    }),
    tenants: fc.array(fc.record({ dual: fc.boolean(), a: fc.nat(), b: fc.nat() }), {
      maxLength: 12,
    }),
    routed: fc.boolean(),
    maxPerWave: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  })
  .map(({ prods, tenants, routed, maxPerWave }) => {
    const ps = prods.map((p, i) =>
      prodOf(`${p.cluster}-${i}`, p.cluster, { role: p.test && i === 0 ? 'test' : 'standard' }),
    );
    const ts = tenants.flatMap((t, i) => {
      const first = ps[t.a % ps.length]!;
      const others = ps.filter((p) => p.spec.cluster !== first.spec.cluster);
      const second = others.length ? others[t.b % others.length] : undefined;
      return t.dual && second
        ? [
            tenantOf(
              `t-${i}`,
              { redundancy: 'Dual' },
              { primary: first.metadata.name, secondary: second.metadata.name },
            ),
          ]
        : [tenantOf(`t-${i}`, {}, { primary: first.metadata.name })];
    });
    return { prods: ps, tenants: ts, routed, maxPerWave };
  });

type Op =
  | { op: 'reconcile' }
  | { op: 'tick'; ms: number }
  | { op: 'pause'; on: boolean }
  | { op: 'abort' }
  | { op: 'restart' }
  | { op: 'alert'; on: boolean }
  | { op: 'move'; t: number; a: number; b: number };

const arbOps = fc.array(
  fc.oneof(
    { weight: 10, arbitrary: fc.constant<Op>({ op: 'reconcile' }) },
    {
      weight: 8,
      arbitrary: fc.integer({ min: 100, max: 3000 }).map<Op>((ms) => ({ op: 'tick', ms })),
    },
    { weight: 1, arbitrary: fc.boolean().map<Op>((on) => ({ op: 'pause', on })) },
    { weight: 1, arbitrary: fc.constant<Op>({ op: 'restart' }) },
    { weight: 1, arbitrary: fc.boolean().map<Op>((on) => ({ op: 'alert', on })) },
    { weight: 1, arbitrary: fc.constant<Op>({ op: 'abort' }) },
    {
      weight: 3,
      arbitrary: fc
        .record({ t: fc.nat(), a: fc.nat(), b: fc.nat() })
        .map<Op>((m) => ({ op: 'move', ...m })),
    },
  ),
  { maxLength: 120 },
);

const busy = (p: Prod | undefined) =>
  !!p &&
  (p.metadata.annotations?.[HOLD_ANNOTATION] !== undefined ||
    p.spec.version !== p.status?.version ||
    !serving(p));

test('no Dual tenant ever has both Prods held or updating; no Prod is set to a version twice; a release left alone finishes', () => {
  fc.assert(
    fc.property(arbFleet, arbOps, (f, ops) => {
      let alerting = false;
      const w = new World(
        f.routed ? routedFleet() : fleetOf(),
        f.prods,
        f.tenants,
        [
          releaseOf({
            strategy: {
              bakeTime: '2s',
              gateInterval: '500ms',
              ...(f.maxPerWave && { maxProdsPerWave: f.maxPerWave }),
              gates: [{ name: 'errors', matchers: ['prod="{{prod}}"'] }],
            },
          }),
        ],
        { alerts: () => (alerting ? ['Boom'] : []) },
      );
      const check = (when: string) => {
        const r = w.release();
        // During a rollback the users are moved off first, then the bad Prods all go back.
        if (r.status?.phase === 'RollingBack' || r.status?.phase === 'RolledBack') return;
        if (r.status?.phase === 'Aborted') return;
        for (const t of w.tenants) {
          const pl = t.status?.prods;
          if (t.spec.redundancy !== 'Dual' || !pl?.secondary) continue;
          assert.ok(
            !(busy(w.prod(pl.primary!)) && busy(w.prod(pl.secondary))),
            `${when}: Dual ${t.metadata.name} has both ${pl.primary} and ${pl.secondary} held or updating`,
          );
        }
      };
      const writesOnce = () => {
        const seen = new Set<string>();
        for (const x of w.versionWrites) {
          const k = `${x.prod}=${x.version}`;
          assert.ok(!seen.has(k), `${x.prod} set to ${x.version} twice`);
          seen.add(k);
        }
      };
      for (const o of ops) {
        if (o.op === 'reconcile') w.reconcile();
        else if (o.op === 'tick') w.tick(o.ms);
        else if (o.op === 'pause') w.release().spec.paused = o.on;
        else if (o.op === 'abort') w.release().spec.aborted = true;
        else if (o.op === 'restart') w.gateCheck.clear();
        else if (o.op === 'move') {
          // Placement pairs a Dual tenant anew, on two Prods doing nothing now (after the plan).
          const free = w.prods.filter((p) => !busy(p));
          const t = w.tenants[o.t % Math.max(1, w.tenants.length)];
          const first = free[o.a % Math.max(1, free.length)];
          const others = free.filter((p) => p.spec.cluster !== first?.spec.cluster);
          const second = others[o.b % Math.max(1, others.length)];
          if (t && first && second) {
            t.spec.redundancy = 'Dual';
            t.status = {
              ...t.status,
              prods: { primary: first.metadata.name, secondary: second.metadata.name },
            };
          }
        } else alerting = o.on;
        check(o.op);
        writesOnce();
      }
      // Left alone: no alerts, not paused → it finishes.
      alerting = false;
      w.release().spec.paused = false;
      for (let i = 0; i < 400 && !isDone(w); i++) {
        w.reconcile();
        check('finish');
        writesOnce();
        w.tick(700);
      }
      assert.ok(
        isDone(w),
        `not finished: ${JSON.stringify(w.release().status?.phase)} ${w.release().status?.message}`,
      );
      const phase = w.release().status?.phase;
      const version = phase === 'Succeeded' ? '2.0.0' : '1.0.0';
      for (const p of w.prods)
        assert.equal(p.spec.version, version, `${p.metadata.name} after ${phase}`);
      assert.equal(w.fleet!.spec.version, version);
      assert.ok(
        w.prods.every((p) => !p.metadata.annotations?.[HOLD_ANNOTATION]),
        'holds lifted',
      );
    }),
    { seed: SEED, numRuns: 400 },
  );
});

function isDone(w: World): boolean {
  const phase = w.release().status?.phase;
  return phase === 'Succeeded' || phase === 'RolledBack' || phase === 'Aborted';
}
