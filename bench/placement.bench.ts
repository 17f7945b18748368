// Benchmark of tenant placement (issue 12): src/fleet/place.ts on a large fleet, no lab needed.
//   node --expose-gc dist/bench/placement.bench.js [tenants] [prods] [rounds]
// The fleet: `prods` Prods over 3 failure domains (two clusters each), one in 16 a test Prod;
// `tenants` tenants, 30 % Dual, 2 % test. Two variants: every tenant of size 1 (the lower bound
// is exact there) and sizes 1–3 (twice the capacity). Each round times, in this order:
// - initial: place() with no previous assignment;
// - steady: place() again from its own result (nothing changed: nothing may move);
// - drain: a whole domain leaving (its Prods `leaving`), from the steady assignment;
// - lost: the same domain down instead;
// - return: the domain back after the drain, with rebalanceMoves = 2 % of the tenants.
// Reported per step: median wall time over the rounds (and each round's) and median CPU time of
// the process (user + system: what the step costs when the machine is shared), copy moves counted against
// the lower bound, the bound and whether it was reachable, unplaced copies; for initial, the heap
// the result holds (after a forced GC, result kept minus result dropped). Every result is
// checked with violations() outside the timing.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { place } from '../src/fleet/place.js';
import { violations } from '../src/fleet/invariants.js';
import { countsAgainstBound } from '../src/fleet/plan.js';
import type {
  PlacementInput,
  PlacementProd,
  PlacementResult,
  PlacementTenant,
} from '../src/fleet/types.js';

const TENANTS = Number(process.argv[2] ?? 100_000);
const PRODS = Number(process.argv[3] ?? 200);
const ROUNDS = Number(process.argv[4] ?? 3);
const DOMAINS = ['a', 'b', 'c'];

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (bench/run.sh does)');
const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

function fleet(unit: boolean): PlacementInput {
  // Capacity for 55 % fill before the drain, about 86 % after (standard Prods).
  const copies = TENANTS * 1.3 * (unit ? 1 : 2);
  const capacity = Math.ceil(copies / PRODS / 0.55);
  const prods: PlacementProd[] = Array.from({ length: PRODS }, (_, i) => {
    const domain = DOMAINS[i % 3]!;
    return {
      name: `prod-${String(i).padStart(3, '0')}`,
      cluster: `${domain}-${(i >> 2) % 2}`,
      domain,
      capacity,
      role: i % 16 === 0 ? 'test' : 'standard',
      state: 'open',
    };
  });
  const tenants: PlacementTenant[] = Array.from({ length: TENANTS }, (_, i) => ({
    name: `tenant-${String(i).padStart(6, '0')}`,
    size: unit ? 1 : 1 + (i % 3),
    redundancy: i % 10 < 3 ? 'Dual' : 'Single',
    test: i % 50 === 7,
  }));
  return { tenants, prods, previous: {} };
}

const withDomain = (input: PlacementInput, state: PlacementProd['state']): PlacementProd[] =>
  input.prods.map((p) => (p.domain === 'a' ? { ...p, state } : p));

interface Step {
  name: string;
  input: (base: PlacementInput, steps: Map<string, PlacementResult>) => PlacementInput;
}
const STEPS: Step[] = [
  { name: 'initial', input: (base) => base },
  { name: 'steady', input: (base, s) => ({ ...base, previous: s.get('initial')!.assignment }) },
  {
    name: 'drain',
    input: (base, s) => ({
      ...base,
      prods: withDomain(base, 'leaving'),
      previous: s.get('steady')!.assignment,
    }),
  },
  {
    name: 'lost',
    input: (base, s) => ({
      ...base,
      prods: withDomain(base, 'down'),
      previous: s.get('steady')!.assignment,
    }),
  },
  {
    name: 'return',
    input: (base, s) => ({
      ...base,
      previous: s.get('drain')!.assignment,
      rebalanceMoves: Math.round(TENANTS * 0.02),
    }),
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => Math.round(x);

for (const unit of [true, false]) {
  const base = fleet(unit);
  const times = new Map<string, number[]>(STEPS.map((s) => [s.name, []]));
  const cpu = new Map<string, number[]>(STEPS.map((s) => [s.name, []]));
  let last = new Map<string, PlacementResult>();
  let heldMb = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const results = new Map<string, PlacementResult>();
    for (const step of STEPS) {
      const input = step.input(base, results);
      const before = step.name === 'initial' ? heapMb() : 0;
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const r = place(input);
      times.get(step.name)!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.get(step.name)!.push((c.user + c.system) / 1000);
      if (step.name === 'initial') heldMb = Math.max(heldMb, heapMb() - before);
      results.set(step.name, r);
      if (round === 0) {
        const broken = violations(input, r);
        if (broken.length > 0) throw new Error(`${step.name}: ${broken.slice(0, 5).join('; ')}`);
      }
    }
    last = results;
  }
  const capacity = base.prods[0]!.capacity;
  console.log(
    `\nload average ${os.loadavg()[0]!.toFixed(1)}; ${unit ? 'unit sizes' : 'sizes 1–3'}: ${TENANTS} tenants (30 % Dual, 2 % test), ${PRODS} Prods ` +
      `of ${capacity} units over ${DOMAINS.length} domains, ${ROUNDS} rounds; initial result holds ${heldMb.toFixed(1)} MB of heap\n`,
  );
  console.log(
    '| step | wall, median (ms) | rounds (ms) | CPU, median (ms) | moves | lower bound | moves / bound | reachable | unplaced | rebalance | fill of standard Prods, min–max (%) | domain fill a / b / c (%) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const step of STEPS) {
    const r = last.get(step.name)!;
    const moves = r.moves.filter(countsAgainstBound).length;
    const rebalance = r.moves.filter((m) => m.reason === 'Rebalance').length;
    const t = times.get(step.name)!;
    const ratio = r.lowerBound > 0 ? (moves / r.lowerBound).toFixed(3) : '—';
    // Fill over the Prods that take copies in this step (domain a's are not open in drain, lost).
    const open =
      STEPS.indexOf(step) === 2 || STEPS.indexOf(step) === 3
        ? (d: string) => d !== 'a'
        : () => true;
    const fills = base.prods
      .filter((p) => p.role === 'standard' && open(p.domain))
      .map((p) => r.used[p.name]! / p.capacity);
    const pct = (x: number) => (100 * x).toFixed(1);
    const domain = (d: string) => {
      const ps = base.prods.filter((p) => p.domain === d);
      return pct(
        ps.reduce((a, p) => a + r.used[p.name]!, 0) / ps.reduce((a, p) => a + p.capacity, 0),
      );
    };
    console.log(
      `| ${step.name} | ${ms(median(t))} | ${t.map(ms).join(', ')} | ${ms(median(cpu.get(step.name)!))} | ` +
        `${moves} | ${r.lowerBound} | ${ratio} | ` +
        `${r.lowerBoundReachable ? 'yes' : 'no'} | ${r.unplaced.length} | ${rebalance} | ` +
        `${pct(Math.min(...fills))}–${pct(Math.max(...fills))} | ${DOMAINS.map(domain).join(' / ')} |`,
    );
  }
}
