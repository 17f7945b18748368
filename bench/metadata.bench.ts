// What a metadata-only informer saves where only metadata is needed: N Secrets of about 8 KiB
// each (a kubeconfig with its certificates, as MemberClusters reference) in one namespace, cached
// as the MemberCluster controller caches Secrets (its field selector and transform: name,
// namespace, uid and resourceVersion only), once from whole objects and once from
// PartialObjectMetadata. Each variant runs in a process of its own, `rounds` times, interleaved;
// the table shows medians of: initial sync, RSS after GC before and once synced, the size of the
// list response (as JSON), and the time to see `updates` changes to the Secrets' data through
// the watch.
//   node --expose-gc dist/bench/metadata.bench.js [secrets] [rounds] [updates]
// It needs a running lab (KACHIKU_LAB_DIR); bench/run.sh starts one.
import { secretInformerOptions } from '../src/controllers/membercluster/reconciler.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Informer } from '../src/runtime/informer.js';
import { Rest, isAlreadyExists, resourcePath, type KubeObject } from '../src/runtime/rest.js';
import { secretGvr } from '../src/runtime/core.js';
import { controlPlaneConfig } from '../test/support/kube.js';

const NS = 'bench-secrets';
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io';
const name = (i: number) => `kubeconfig-${String(i).padStart(5, '0')}`;

function rssAfterGc(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

interface Result {
  variant: string;
  syncSeconds: number;
  rssBeforeMb: number;
  rssSyncedMb: number;
  updatesSeconds: number;
}

/** In a child: one informer as the MemberCluster controller has it; `updates` data changes. */
async function runVariant(metadataOnly: boolean, n: number, updates: number): Promise<Result> {
  const rest = new Rest(controlPlaneConfig());
  const rssBefore = rssAfterGc();
  const informer = new Informer<KubeObject>(rest, secretGvr, {
    namespace: NS,
    metadataOnly,
    ...secretInformerOptions,
  });
  let updated = 0;
  informer.addHandler({ update: () => void updated++ });
  const t0 = performance.now();
  informer.start();
  await informer.waitForSync();
  const syncSeconds = (performance.now() - t0) / 1000;
  if (informer.size !== n) throw new Error(`cache holds ${informer.size} Secrets, expected ${n}`);
  const rssSynced = rssAfterGc();
  // Watch traffic: rewrite the data of `updates` Secrets (8 in flight), until all are seen.
  const t1 = performance.now();
  for (let i = 0; i < updates; i += 8)
    await Promise.all(
      Array.from({ length: Math.min(8, updates - i) }, (_, j) =>
        rest.patch(
          secretGvr,
          NS,
          name((i + j) % n),
          { data: { kubeconfig: randomBytes(6 * 1024).toString('base64') } },
          'merge',
        ),
      ),
    );
  while (updated < updates) await sleep(5);
  const updatesSeconds = (performance.now() - t1) / 1000;
  await informer.stop();
  await rest.close();
  return {
    variant: metadataOnly ? 'metadata only (PartialObjectMetadata)' : 'whole Secrets, transformed',
    syncSeconds: Math.round(syncSeconds * 100) / 100,
    rssBeforeMb: mb(rssBefore),
    rssSyncedMb: mb(rssSynced),
    updatesSeconds: Math.round(updatesSeconds * 100) / 100,
  };
}

async function populate(rest: Rest, n: number): Promise<void> {
  // Imported here: the lab's helpers load the AWS SDK, which would weigh on the children's RSS.
  const { ensureNamespace } = await import('./support.js');
  await ensureNamespace(rest, NS);
  for (let i = 0; i < n; i += 64)
    await Promise.all(
      Array.from({ length: Math.min(64, n - i) }, (_, j) =>
        rest
          .create(secretGvr, {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: name(i + j), namespace: NS, labels: { app: 'bench' } },
            type: 'Opaque',
            data: { kubeconfig: randomBytes(6 * 1024).toString('base64') },
          } as KubeObject)
          .catch((e) => (isAlreadyExists(e) ? undefined : Promise.reject(e))),
      ),
    );
}

function child(metadataOnly: boolean, n: number, updates: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        '--expose-gc',
        fileURLToPath(import.meta.url),
        metadataOnly ? 'metadata' : 'whole',
        String(n),
        String(updates),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Result) : reject(new Error(`child exited ${code}`)),
    );
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const [mode, a1, a2] = process.argv.slice(2);
if (mode === 'whole' || mode === 'metadata') {
  process.stdout.write(
    JSON.stringify(await runVariant(mode === 'metadata', Number(a1), Number(a2))),
  );
  process.exit(0);
} else {
  const n = Number(mode ?? 2000);
  const rounds = Number(a1 ?? 3);
  const updates = Number(a2 ?? 200);
  const rest = new Rest(controlPlaneConfig());
  await populate(rest, n);
  // The bytes of one list response (resourceVersion=0, from the watch cache), either way.
  const bytes: Record<string, number> = {};
  for (const [variant, accept] of [
    ['whole', undefined],
    ['metadata', ACCEPT_METADATA_LIST],
  ] as const) {
    const text = await rest.request<unknown>('GET', resourcePath(secretGvr, NS), {
      query: { resourceVersion: '0', fieldSelector: 'type!=helm.sh/release.v1' },
      accept,
    });
    bytes[variant] = JSON.stringify(text).length;
  }
  await rest.close();
  const runs: Record<string, Result[]> = { whole: [], metadata: [] };
  for (let r = 0; r < rounds; r++) {
    for (const metadataOnly of r % 2 ? [true, false] : [false, true]) {
      const result = await child(metadataOnly, n, updates);
      console.error(JSON.stringify({ round: r + 1, ...result }));
      runs[metadataOnly ? 'metadata' : 'whole']!.push(result);
    }
  }
  console.log(
    `| Secrets (${n}, ~8 KiB each) | initial sync (s) | list response (MB) | RSS before (MB) | RSS synced (MB) | ${updates} data updates seen (s) |`,
  );
  console.log('|---|---|---|---|---|---|');
  for (const [key, rs] of Object.entries(runs)) {
    const m = (f: (r: Result) => number) => median(rs.map(f));
    console.log(
      `| ${rs[0]!.variant} | ${m((r) => r.syncSeconds)} | ${(bytes[key]! / 1e6).toFixed(2)} | ${m((r) => r.rssBeforeMb)} | ${m((r) => r.rssSyncedMb)} | ${m((r) => r.updatesSeconds)} |`,
    );
  }
}
