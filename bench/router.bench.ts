// Benchmark of the tenant router's table update (issue 13's groundwork): an atomic replacement
// of a host → backend map of N entries (default 10,000) through HAProxy's runtime API
// (src/clouds/haproxy: prepare map, add map @ver in payloads bounded by tune.bufsize, commit
// map), against the lab's real HAProxy 2.6.
//   node dist/bench/router.bench.js [entries] [rounds]
// Each round replaces the whole table with one where every host has another backend (two tables
// alternate); times are per replacement, and per phase. Also: one command's round trip (a
// connection per command), reading the whole map back (`show map`, what a differ reads),
// writing the map file, and the worker's memory. Needs a running lab (KACHIKU_LAB_DIR).
import { performance } from 'node:perf_hooks';
import { readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { defaultLabDir, readState } from '../lab/src/context.js';
import {
  addMapEntries,
  commitMap,
  findMap,
  prepareMap,
  replaceMap,
  runtimeClient,
  showInfo,
  showMap,
  writeMapFile,
  type RuntimeClient,
} from '../src/clouds/haproxy/index.js';
import { pct } from './support.js';

const N = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 20);
const lab = readState(process.env.KACHIKU_LAB_DIR ?? defaultLabDir());
if (!lab?.router)
  throw new Error('no lab with a tenant router: set KACHIKU_LAB_DIR or use bench/run.sh');
const r = lab.router;
const MAP = r.mapFile;
const ms = (x: number) => x.toFixed(1);
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${ms(pct(s, 50))} ms, p99 ${ms(pct(s, 99))} ms, max ${ms(s[s.length - 1]!)} ms`;
};

const hosts = Array.from(
  { length: N },
  (_, i) => `tenant-${String(i).padStart(5, '0')}.fleet.example.com`,
);
const table = (k: number): [string, string][] =>
  hosts.map((h, i) => [h, `be_slot_${(i + k) % r.slots}`]);
const tables = [table(0), table(1)];
const bytes = tables[0]!.reduce((n, [k, v]) => n + k.length + v.length + 2, 0);

const rssKiB = async (client: RuntimeClient) => {
  const { pid } = await showInfo(client);
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
};

/** CPU time (user + system) of a process, in ms, from /proc (10 ms ticks). */
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};

async function run(label: string, client: RuntimeClient): Promise<void> {
  const rtt: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await showInfo(client);
    rtt.push(performance.now() - t);
  }
  console.log(`${label}: one command (show info, a connection each) ${summary(rtt)}`);

  await replaceMap(client, MAP, tables[1]!); // warm-up, and the table the first round replaces
  const total: number[] = [];
  const prepare: number[] = [];
  const add: number[] = [];
  const commit: number[] = [];
  let batches = 0;
  const { pid } = await showInfo(client);
  const cpu0 = [cpuMs(pid), process.cpuUsage()] as const;
  for (let k = 0; k < ROUNDS; k++) {
    const entries = tables[k % 2]!;
    const t0 = performance.now();
    const version = await prepareMap(client, MAP);
    const t1 = performance.now();
    batches = (await addMapEntries(client, MAP, entries, { version })).batches;
    const t2 = performance.now();
    await commitMap(client, MAP, version);
    const t3 = performance.now();
    total.push(t3 - t0);
    prepare.push(t1 - t0);
    add.push(t2 - t1);
    commit.push(t3 - t2);
    const m = await findMap(client, MAP);
    if (m?.currentVersion !== version || m.entryCount !== N)
      throw new Error(`round ${k}: map at v${m?.currentVersion} with ${m?.entryCount} entries`);
  }
  console.log(
    `${label}: replace ${N} entries (${(bytes / 1024).toFixed(0)} KiB, ${batches} payloads), ${ROUNDS} rounds: ${summary(total)}`,
  );
  console.log(
    `${label}:   prepare ${summary(prepare)}; add ${summary(add)}; commit ${summary(commit)}`,
  );
  const ours = process.cpuUsage(cpu0[1]);
  console.log(
    `${label}:   CPU per replacement: HAProxy ${ms((cpuMs(pid) - cpu0[0]) / ROUNDS)} ms, this client ${ms((ours.user + ours.system) / 1000 / ROUNDS)} ms (with its read-back of show map's list)`,
  );
  // replaceMap itself: the same steps, and its check of every entry before it sends any.
  const wrapped: number[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    const t = performance.now();
    await replaceMap(client, MAP, tables[k % 2]!);
    wrapped.push(performance.now() - t);
  }
  console.log(`${label}: replaceMap() ${summary(wrapped)}`);
}

console.log(
  `HAProxy ${r.version}, ${r.slots} slots; ${N} entries; load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const unix = runtimeClient({ socket: r.socket }, { maxRequestBytes: r.maxRequestBytes });
const rss0 = await rssKiB(unix);
await run('unix socket', unix);
await run('loopback TCP', runtimeClient(r.adminAddress, { maxRequestBytes: r.maxRequestBytes }));

const reads: number[] = [];
for (let i = 0; i < 10; i++) {
  const t = performance.now();
  const entries = await showMap(unix, MAP);
  reads.push(performance.now() - t);
  if (entries.length !== N) throw new Error(`show map read ${entries.length} entries`);
}
console.log(`show map (all ${N} entries, parsed): ${summary(reads)}`);
const writes: number[] = [];
const scratch = `${MAP}.bench`;
for (let i = 0; i < 10; i++) {
  const t = performance.now();
  await writeMapFile(scratch, tables[i % 2]!);
  writes.push(performance.now() - t);
}
console.log(`writeMapFile (${N} entries, to ${scratch}): ${summary(writes)}`);
rmSync(scratch);
console.log(
  `worker RSS: ${(rss0 / 1024).toFixed(1)} MiB before, ${((await rssKiB(unix)) / 1024).toFixed(1)} MiB after`,
);
await replaceMap(unix, MAP, []);
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
