// Benchmark of the release sources and gate (issue 14 groundwork) against the lab's git server,
// registries and Alertmanager: how long one poll of each takes, as the release controller will
// make it (every call a fresh session: git spawned, registry challenge and token each time).
//   node dist/bench/sources.bench.js [tags] [runs]
// Set-up: a repository with `tags` tags (half annotated) and 3 branches; an image repository
// with `tags` tags; 20 alerts. Each measurement: 3 warm-up calls, then `runs` calls one after
// another; min, median, p90, max. It needs a running lab (KACHIKU_LAB_DIR); bench/run.sh
// starts one.
import { performance } from 'node:perf_hooks';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { defaultLabDir, readState } from '../lab/src/context.js';
import { gitEnv, lsRemote } from '../src/clouds/git/index.js';
import { listTags } from '../src/clouds/registry/index.js';
import { activeAlerts } from '../src/clouds/alertmanager/index.js';
import { pushImageTags } from '../test/support/registry.js';
import { pct } from './support.js';

const TAGS = Number(process.argv[2] ?? 200);
const RUNS = Number(process.argv[3] ?? 30);
const lab = readState(process.env.KACHIKU_LAB_DIR ?? defaultLabDir());
if (!lab?.readyAt || !lab.git || !lab.registry || !lab.alertmanager)
  throw new Error('no running lab with git, registry and Alertmanager: use bench/run.sh');
const { git, registry, alertmanager } = lab;
const run = randomUUID().slice(0, 8);

async function measure(what: string, f: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 3; i++) await f();
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const f1 = (v: number) => v.toFixed(1);
  console.log(
    `| ${what} | ${RUNS} | ${f1(ms[0]!)} | ${f1(pct(ms, 50))} | ${f1(pct(ms, 90))} | ${f1(ms.at(-1)!)} |`,
  );
}

// ---- set-up: a git repository with TAGS tags on as many commits, and 3 branches
const gitAuth = { username: git.username, password: git.password };
const repoUrl = `${git.url}/bench/${run}.git`;
{
  const dir = mkdtempSync(join(tmpdir(), 'kachiku-bench-git-'));
  const sh = promisify(execFile);
  const g = (...args: string[]) =>
    sh('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@kachiku.invalid', ...args], {
      cwd: dir,
      env: gitEnv(repoUrl, gitAuth),
    });
  await g('init', '--quiet', '-b', 'main');
  for (let i = 0; i < TAGS; i++) {
    await g('commit', '--quiet', '--allow-empty', '-m', `c${i}`);
    await (i % 2
      ? g('tag', `v1.${Math.floor(i / 10)}.${i % 10}`)
      : g('tag', '-a', `v1.${Math.floor(i / 10)}.${i % 10}`, '-m', 'r'));
  }
  for (const b of ['release-1', 'develop']) await g('branch', b, 'HEAD~1');
  await g('push', '--quiet', repoUrl, '--all');
  await g('push', '--quiet', repoUrl, '--tags');
  rmSync(dir, { recursive: true, force: true });
}
// ---- an image repository with TAGS tags
const creds = { username: registry.username, password: registry.password };
const image = `bench/${run}/app`;
const t0 = performance.now();
await pushImageTags(
  registry.url,
  image,
  Array.from({ length: TAGS }, (_, i) => `1.${Math.floor(i / 10)}.${i % 10}`),
  creds,
);
console.error(`pushed ${TAGS} image tags in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
// ---- 20 alerts, one of which a gate matches
await fetch(`${alertmanager.url}/api/v2/alerts`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(
    Array.from({ length: 20 }, (_, i) => ({
      labels: { alertname: 'BenchAlert', run, prod: `p${i}`, severity: 'critical' },
      startsAt: new Date().toISOString(),
    })),
  ),
});

const refs = await lsRemote(repoUrl, { auth: gitAuth });
const host = (u: string) => new URL(u).host;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(
  `\n${refs.length} refs; ${TAGS} image tags; node ${process.version}; load average ${load()}\n`,
);
console.log('| call | runs | min (ms) | median (ms) | p90 (ms) | max (ms) |');
console.log('|---|---|---|---|---|---|');
await measure(`git ls-remote --tags --heads (${refs.length} refs, basic auth)`, () =>
  lsRemote(repoUrl, { auth: gitAuth }),
);
/** The HTTP requests one listTags makes, by operation and status (e.g. "listTags 200 ×5"). */
async function requestsOf(ref: string, pageSize?: number): Promise<string> {
  const calls = new Map<string, number>();
  await listTags(ref, {
    credentials: creds,
    insecure: true,
    pageSize,
    onCall: (op, status) => calls.set(`${op} ${status}`, (calls.get(`${op} ${status}`) ?? 0) + 1),
  });
  return [...calls].map(([k, v]) => `${k} ×${v}`).join(', ');
}
for (const n of [50, 100, 1000]) {
  const ref = `${host(registry.tokenUrl)}/${image}`;
  await measure(`tags/list of ${TAGS} tags, n=${n}, v3 (${await requestsOf(ref, n)})`, () =>
    listTags(ref, { credentials: creds, insecure: true, pageSize: n }),
  );
}
{
  const ref = `${host(registry.url)}/${image}`;
  await measure(`tags/list of ${TAGS} tags, 2.8 ignoring n (${await requestsOf(ref)})`, () =>
    listTags(ref, { credentials: creds, insecure: true }),
  );
}
await measure('Alertmanager v2 alerts, 3 matchers (1 of 20 alerts matches)', () =>
  activeAlerts(alertmanager.url, [
    { name: 'run', op: '=', value: run },
    { name: 'prod', op: '=', value: 'p7' },
    { name: 'severity', op: '=~', value: 'crit.*' },
  ]),
);
console.log(`\nload average at the end: ${load()}`);
