// Benchmark of the lab's Octavia itself (not of kachiku): can it serve the reads of a
// benchmark of hundreds of LoadBalancerMirrors without being the bottleneck?
//   node dist/bench/octavia.bench.js [loadbalancers] [concurrency] [rounds] [build width] [name prefix]
// Set-up: N load balancers, each with a TCP listener and a pool of 10 members, built `build
// width` at a time (each write followed by a wait for ACTIVE), timed. Then `rounds` rounds of
// `concurrency` requests sent at once, the reads a mirror's sync makes, in turn: GET
// /loadbalancers/{id}, GET /pools?loadbalancer_id={id}, GET /pools/{pool}/members. One warm-up
// round first (tokens validated and cached by each API process). Reported: requests/s over
// the rounds' wall time, latency p50 / p99 / max, the CPU time the API's and the database's
// processes spent per request (the database is inside the API's process on SQLite), the
// machine's load average (other work on the same cores), and the answers that were not 200
// (a request without an answer in 30 s is given up and counted there).
// It needs a running lab (KACHIKU_LAB_DIR); bench/run.sh starts one.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { mapLimit } from '../src/runtime/concurrency.js';
import { OctaviaBuilder } from '../lab/src/octavia.js';
import { groupMembers } from '../lab/src/proc.js';
import { benchLab, pct } from './support.js';

const [lbsArg, concurrencyArg, roundsArg, widthArg, prefixArg] = process.argv.slice(2);
const N = Number(lbsArg ?? 20);
const C = Number(concurrencyArg ?? 200);
const R = Number(roundsArg ?? 5);
const W = Number(widthArg ?? 1);
// Load balancers of that name that exist are reused (and the build is not timed again).
const PREFIX = prefixArg ?? 'bench-octavia';
const MEMBERS = 10;
const TIMEOUT_MS = 30_000;

const { lab } = benchLab();
const octavia = new OctaviaBuilder(lab.openstack!);

async function ensureLoadBalancer(i: number): Promise<{ id: string; pool: string }> {
  const name = `${PREFIX}-${i}`;
  const found = await octavia.findLoadBalancer(name);
  if (found) {
    const pools = await octavia.call('GET', `/pools?loadbalancer_id=${found}`);
    const pool = (pools.body.pools as { id: string }[] | undefined)?.[0]?.id;
    if (pool) return { id: found, pool };
    await octavia.deleteLoadBalancer(found);
  }
  const id = await octavia.loadBalancer(name);
  const listener = await octavia.listener(id, 'TCP', 80);
  const pool = await octavia.pool(id, listener, 'TCP');
  await octavia.setMembers(
    id,
    pool,
    Array.from({ length: MEMBERS }, (_, m) => ({
      address: `10.99.${i}.${m + 1}`,
      protocol_port: 80,
    })),
  );
  return { id, pool };
}

let t = performance.now();
const lbs = await mapLimit(
  Array.from({ length: N }, (_, i) => i),
  W,
  ensureLoadBalancer,
);
const buildS = (performance.now() - t) / 1000;
console.error(`${N} load balancers ready in ${buildS.toFixed(1)} s (${W} at a time)`);

const paths = (k: number): string => {
  const lb = lbs[k % N]!;
  switch (Math.floor(k / N) % 3) {
    case 0:
      return `/loadbalancers/${lb.id}`;
    case 1:
      return `/pools?loadbalancer_id=${lb.id}`;
    default:
      return `/pools/${lb.pool}/members`;
  }
};

async function round(): Promise<{ wallMs: number; latencies: number[]; failed: string[] }> {
  const start = performance.now();
  const failed: string[] = [];
  const latencies = await Promise.all(
    Array.from({ length: C }, async (_, k) => {
      const t0 = performance.now();
      const r = await octavia
        .call('GET', paths(k), undefined, AbortSignal.timeout(TIMEOUT_MS))
        .catch((e: unknown) => ({
          status:
            (e as Error).name === 'TimeoutError'
              ? `no answer in ${TIMEOUT_MS / 1000} s`
              : String(e),
          body: {},
        }));
      if (r.status !== 200) failed.push(String(r.status));
      return performance.now() - t0;
    }),
  );
  return { wallMs: performance.now() - start, latencies, failed };
}

/** CPU seconds (user + system) of the live processes the lab started as these. */
function cpuSeconds(names: string[]): number {
  let ticks = 0;
  for (const rec of lab.processes.filter((p) => names.includes(p.name))) {
    for (const pid of groupMembers(rec.pid)) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(f[11]) + Number(f[12]);
      } catch {
        // ended meanwhile
      }
    }
  }
  return ticks / 100; // USER_HZ
}
const SERVERS = ['octavia-api', 'mariadb'];

await round(); // warm-up
const cpu0 = cpuSeconds(SERVERS);
const load0 = loadavg()[0]!;
t = performance.now();
let wallMs = 0;
const all: number[] = [];
const failed: string[] = [];
for (let r = 0; r < R; r++) {
  const x = await round();
  wallMs += x.wallMs;
  all.push(...x.latencies);
  failed.push(...x.failed);
}
const cpuMsPerRequest = ((cpuSeconds(SERVERS) - cpu0) * 1000) / (C * R);
const load = (load0 + loadavg()[0]!) / 2;
all.sort((a, b) => a - b);
const failures = Object.entries(
  failed.reduce<Record<string, number>>((m, s) => ((m[s] = (m[s] ?? 0) + 1), m), {}),
)
  .map(([s, n]) => `${n} × ${s}`)
  .join(', ');

console.log(
  '| load balancers (build width) | build | concurrency × rounds | requests/s | p50 | p99 | max | CPU per request | load average | not 200 |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
console.log(
  `| ${N} (${W}) | ${buildS.toFixed(1)} s | ${C} × ${R} | ${((C * R) / (wallMs / 1000)).toFixed(0)} | ${pct(all, 50).toFixed(0)} ms | ${pct(all, 99).toFixed(0)} ms | ${all[all.length - 1]!.toFixed(0)} ms | ${cpuMsPerRequest.toFixed(0)} ms | ${load.toFixed(1)} | ${failures || 0} |`,
);
process.exit(0);
