// Fleets' version sources against the lab's git server and registry: the source poller and the
// Fleet controller in this process as kachiku's ServiceAccount. A tag pushed → a Release within
// the poll interval; with a long interval, a signed webhook → a Release at once, an unsigned or
// wrongly signed one → 401 and nothing; an image tag in the semver range → a Release, one outside
// → none over several polls; bad input → SourceReady False with its reason and no Release; a
// Release for a version that is not in the registry → Pending, VersionNotFound, nothing started.
// The Fleets select no MemberCluster (a label no cluster has): no Prod is made, and the Fleet
// controller still writes the rest of their status, next to the poller's part.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Manager } from '../../src/runtime/manager.js';
import { Rest, isNotFound, type KubeObject } from '../../src/runtime/rest.js';
import { newLogger } from '../../src/runtime/log.js';
import { secretGvr } from '../../src/runtime/core.js';
import { applyCrds } from '../../src/cli/crds.js';
import { CONTROLLER_NAME } from '../../src/api/kind.js';
import type { Fleet, FleetSpec } from '../../src/api/fleet.js';
import type { Release } from '../../src/api/release.js';
import { registerFleetController } from '../../src/controllers/fleet/reconciler.js';
import { registerReleaseController } from '../../src/controllers/release/reconciler.js';
import { placer } from '../../src/controllers/fleet/placer.js';
import {
  fleetGvr,
  registerSourceController,
  releaseGvr,
} from '../../src/controllers/source/reconciler.js';
import { sign } from '../../src/controllers/source/signature.js';
import { labState } from '../support/lab.js';
import { pushCommit } from '../support/git.js';
import { pushImageTags } from '../support/registry.js';
import {
  controlPlaneConfig,
  grantSecrets,
  kachikuConfig,
  namespaceGvr,
  testNamespace,
} from '../support/kube.js';
import { until } from '../support/wait.js';

const lab = labState();
const git = lab.git!;
const reg = lab.registry!;
const gitAuth = { username: git.username, password: git.password };
const config = controlPlaneConfig();
const rest = new Rest(config);
const id = randomUUID().slice(0, 6);
const TOKEN = `hook-token-${randomUUID()}`;

let ns = '';
let hooks = '';
let stop: (() => Promise<void>) | undefined;
/** Polls per Fleet name, and their results in order. */
const polls = new Map<string, string[]>();
const pollsOf = (fleet: string) => polls.get(fleet)?.length ?? 0;

const secret = (name: string, data: Record<string, string>, type?: string) =>
  rest.create(secretGvr, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns },
    ...(type && { type }),
    data: Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
  } as KubeObject);

const dockerConfig = (password: string) =>
  JSON.stringify({
    auths: {
      [new URL(reg.url).host]: {
        auth: Buffer.from(`${reg.username}:${password}`).toString('base64'),
      },
    },
  });

before(async () => {
  await applyCrds(config);
  ns = await testNamespace(rest, 'source');
  await grantSecrets(rest, ns);
  await secret('git', gitAuth);
  await secret('hook', { token: TOKEN });
  await secret(
    'registry',
    { '.dockerconfigjson': dockerConfig(reg.password) },
    'kubernetes.io/dockerconfigjson',
  );
  await secret(
    'registry-wrong',
    { '.dockerconfigjson': dockerConfig('not-the-password') },
    'kubernetes.io/dockerconfigjson',
  );
  const mgr = new Manager({
    name: CONTROLLER_NAME,
    config: kachikuConfig(),
    namespace: ns,
    hooksAddress: '127.0.0.1:0',
    log: newLogger(
      process.env.TEST_LOG === 'debug' ? 'debug' : process.env.TEST_LOG ? 'warn' : 'silent',
    ),
  });
  registerSourceController(mgr, {
    onPoll: (key, result) => {
      const name = key.split('/')[1]!;
      polls.set(name, [...(polls.get(name) ?? []), result]);
    },
  });
  registerFleetController(mgr, { placer });
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  stop = () => (ctl.abort(), running);
  hooks = `http://${await until('the hooks server', () => mgr.address('hooks'))}`;
});

after(async () => {
  await stop?.();
  if (ns) await rest.delete(namespaceGvr, undefined, ns);
});

async function createFleet(name: string, version: string, source: FleetSpec['source']) {
  await rest.create<Fleet>(fleetGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Fleet',
    metadata: { name, namespace: ns },
    spec: {
      app: 'shop',
      version,
      template: {
        capacity: 10,
        components: [{ name: 'web', image: 'registry.example/web:{{version}}' }],
      },
      prods: { perDomain: 1 },
      // No cluster has this label: no Prod is made.
      clusterSelector: { matchLabels: { 'source-test': id } },
      release: { strategy: { bakeTime: '5s', maxProdsPerWave: 2 } },
      source,
    },
  });
}

const fleetOf = (name: string) => rest.get<Fleet>(fleetGvr, ns, name);
const sourceReady = (f: Fleet) => f.status?.conditions?.find((c) => c.type === 'SourceReady');
const releasesOf = async (fleet: string) =>
  (await rest.list<Release>(releaseGvr, ns)).items.filter((r) => r.spec.fleet === fleet);

/** Waits for SourceReady with this status and reason; the condition. */
const ready = (name: string, status: string, reason: string, timeoutMs = 20_000) =>
  until(
    `Fleet ${name} SourceReady ${status} ${reason}`,
    async () => {
      const c = sourceReady(await fleetOf(name));
      return c?.status === status && c.reason === reason ? c : undefined;
    },
    timeoutMs,
    50,
  );

const release = async (name: string) => {
  try {
    return await rest.get<Release>(releaseGvr, ns, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
};

test('a git source (semver range): a tag pushed → its Release within the poll interval (2 s)', async (t) => {
  const url = `${git.url}/poll-${id}.git`;
  await pushCommit(url, gitAuth, { tags: ['v1.0.0'] });
  await createFleet('poll', 'v1.0.0', {
    git: { url, ref: { semver: '^1.0.0' }, secretRef: 'git' },
    interval: '2s',
  });
  const first = await ready('poll', 'True', 'SourceFound');
  assert.match(first.message, /v1\.0\.0 .*the Fleet runs it/);
  assert.deepEqual(await releasesOf('poll'), []);

  await pushCommit(url, gitAuth, { annotatedTags: ['v1.1.0', 'v2.0.0'] });
  const pushed = Date.now();
  const made = await until('Release poll-v1.1.0', () => release('poll-v1.1.0'), 15_000, 50);
  const ms = Date.now() - pushed;
  // The interval, plus one ls-remote and the create on a loaded machine.
  t.diagnostic(`tag pushed → Release: ${ms} ms (interval 2 s)`);
  assert.ok(ms <= 2000 + 1500, `Release ${ms} ms after the push`);
  assert.equal(made.spec.version, 'v1.1.0');
  assert.equal(made.spec.fleet, 'poll');
  assert.equal(made.spec.source, `${url}@refs/tags/v1.1.0`);
  const fleet = await fleetOf('poll');
  // The Fleet's strategy as stored (the CRD's defaults filled in).
  assert.deepEqual(made.spec.strategy, fleet.spec.release?.strategy);
  assert.equal(made.spec.strategy?.bakeTime, '5s');
  assert.equal(made.metadata.labels?.['kachiku.io/fleet'], 'poll');
  assert.deepEqual(
    made.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
    [['Fleet', 'poll', fleet.metadata.uid]],
  );
  const st = await until(
    'status.source v1.1.0 next to the Fleet controller’s status',
    async () => {
      const s = (await fleetOf('poll')).status;
      return s?.source?.version === 'v1.1.0' && s.conditions?.some((c) => c.type === 'ProdsReady')
        ? s
        : undefined;
    },
    10_000,
    50,
  );
  assert.equal(st.source?.from, 'refs/tags/v1.1.0');
  assert.equal(sourceReady(await fleetOf('poll'))?.status, 'True');
  assert.deepEqual(
    (await releasesOf('poll')).map((r) => r.metadata.name),
    ['poll-v1.1.0'],
    'one Release, and none for 2.0.0 (outside ^1.0.0)',
  );
});

test('a long interval (10m) and the webhook: signed → Release within 2 s; unsigned or wrongly signed → 401 and nothing', async (t) => {
  const url = `${git.url}/hook-${id}.git`;
  await pushCommit(url, gitAuth, { tags: ['v1.0.0'] });
  await createFleet('hook', 'v1.0.0', {
    git: { url, ref: { semver: '>=1.0.0' }, secretRef: 'git' },
    interval: '10m',
    webhook: { secretRef: 'hook' },
  });
  await ready('hook', 'True', 'SourceFound');
  await pushCommit(url, gitAuth, { tags: ['v1.3.0'] });
  const before = pollsOf('hook');

  const body = JSON.stringify({ ref: 'refs/tags/v1.3.0' });
  const post = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${hooks}${path}`, { method: 'POST', body, headers });
  const unsigned = await post(`/hooks/${ns}/hook`);
  assert.equal(unsigned.status, 401);
  assert.equal(await unsigned.text(), 'unauthorized\n');
  const wrong = await post(`/hooks/${ns}/hook`, { 'x-signature': sign(body, 'not-the-token') });
  assert.equal(wrong.status, 401);
  await wrong.text();
  const otherBody = await post(`/hooks/${ns}/hook`, {
    'x-hub-signature-256': sign(`${body} `, TOKEN),
  });
  assert.equal(otherBody.status, 401);
  await otherBody.text();
  const unknown = await post(`/hooks/${ns}/no-such-fleet`, { 'x-signature': sign(body, TOKEN) });
  assert.equal(unknown.status, 404);
  await unknown.text();
  const noHook = await post(`/hooks/${ns}/poll`, { 'x-signature': sign(body, TOKEN) });
  assert.equal(noHook.status, 404, 'a Fleet without spec.source.webhook has no receiver');
  await noHook.text();
  // Nothing was polled for them: no poll, no Release, over a second.
  await sleep(1000);
  assert.equal(pollsOf('hook'), before, 'refused hooks poll nothing');
  assert.equal(await release('hook-v1.3.0'), undefined);

  const sent = Date.now();
  const ok = await post(`/hooks/${ns}/hook`, { 'x-hub-signature-256': sign(body, TOKEN) });
  assert.equal(ok.status, 202);
  await ok.text();
  const made = await until('Release hook-v1.3.0', () => release('hook-v1.3.0'), 10_000, 25);
  const ms = Date.now() - sent;
  t.diagnostic(`signed hook → Release: ${ms} ms`);
  assert.ok(ms <= 2000, `Release ${ms} ms after the signed hook`);
  assert.equal(made.spec.version, 'v1.3.0');
  assert.equal(pollsOf('hook'), before + 1, 'one poll for the hook');
});

test('an image source (semver): a tag outside the range → no Release over 3 polls; one in it → its Release', async () => {
  const repo = `tests/${id}/web`;
  const creds = { username: reg.username, password: reg.password };
  await pushImageTags(reg.url, repo, ['1.0.0'], creds);
  await createFleet('image', '1.0.0', {
    image: {
      repository: `${new URL(reg.url).host}/${repo}`,
      insecure: true,
      secretRef: 'registry',
      policy: { semver: { range: '^1.0.0' } },
    },
    interval: '1s',
  });
  await ready('image', 'True', 'SourceFound');

  await pushImageTags(reg.url, repo, ['2.0.0', '1.0.1-rc.1'], creds);
  const after = pollsOf('image');
  await until('3 polls after the push', () => pollsOf('image') >= after + 3 || undefined, 15_000);
  assert.deepEqual(await releasesOf('image'), [], '2.0.0 and a prerelease are outside ^1.0.0');
  assert.equal((await fleetOf('image')).status?.source?.version, '1.0.0');

  await pushImageTags(reg.url, repo, ['1.4.0'], creds);
  const pushed = Date.now();
  const made = await until('Release image-1.4.0', () => release('image-1.4.0'), 15_000, 50);
  assert.ok(Date.now() - pushed <= 1000 + 1500, `${Date.now() - pushed} ms`);
  assert.equal(made.spec.source, `${new URL(reg.url).host}/${repo}:1.4.0`);
  assert.deepEqual(
    (await releasesOf('image')).map((r) => r.spec.version),
    ['1.4.0'],
  );
});

test('bad input: an unreachable git URL, wrong registry credentials, an invalid semver range → SourceReady False with the reason, no Release', async () => {
  const url = `${git.url}/bad-${id}.git`;
  await pushCommit(url, gitAuth, { tags: ['v1.0.0', 'v1.1.0'] });
  await createFleet('unreachable', 'v1.0.0', {
    git: { url: 'http://127.0.0.1:1/nothing.git', ref: { semver: '^1.0.0' } },
    interval: '1s',
  });
  await createFleet('wrong-creds', '1.0.0', {
    image: {
      repository: `${new URL(reg.url).host}/tests/${id}/web`,
      insecure: true,
      secretRef: 'registry-wrong',
      policy: { semver: { range: '^1.0.0' } },
    },
    interval: '1s',
  });
  await createFleet('bad-range', 'v1.0.0', {
    git: { url, ref: { semver: '>=1.0 <<2' }, secretRef: 'git' },
    interval: '1s',
  });
  await createFleet('no-secret', 'v1.0.0', {
    git: { url, ref: { semver: '^1.0.0' }, secretRef: 'missing' },
    interval: '1s',
  });
  const unreachable = await ready('unreachable', 'False', 'SourceUnreachable');
  assert.match(unreachable.message, /127\.0\.0\.1:1/);
  const auth = await ready('wrong-creds', 'False', 'SourceAuthFailed');
  assert.doesNotMatch(auth.message, /not-the-password/);
  const range = await ready('bad-range', 'False', 'InvalidPolicy');
  assert.match(range.message, /semver range ">=1\.0 <<2" is not valid/);
  const missing = await ready('no-secret', 'False', 'SecretNotFound');
  assert.match(missing.message, /Secret .*\/missing not found/);
  // Polled again since, and still nothing made.
  const counts = ['unreachable', 'wrong-creds', 'bad-range', 'no-secret'].map(pollsOf);
  await until(
    'two more polls of each',
    () =>
      ['unreachable', 'wrong-creds', 'bad-range', 'no-secret'].every(
        (f, i) => pollsOf(f) >= counts[i]! + 2,
      ) || undefined,
    15_000,
  );
  for (const f of ['unreachable', 'wrong-creds', 'bad-range', 'no-secret'])
    assert.deepEqual(await releasesOf(f), [], f);
  // The condition did not flap, and the steady error costs no write per poll.
  const rv = (await fleetOf('bad-range')).metadata.resourceVersion;
  const n = pollsOf('bad-range');
  await until('two more polls', () => pollsOf('bad-range') >= n + 2 || undefined, 10_000);
  assert.equal((await fleetOf('bad-range')).metadata.resourceVersion, rv, 'no write');
});

test('a Release for a version the registry does not have: Pending, VersionNotFound, nothing started', async () => {
  // The Release controller, in a Manager of its own (kachiku's ServiceAccount), for this test.
  const mgr = new Manager({
    name: CONTROLLER_NAME,
    config: kachikuConfig(),
    namespace: ns,
    log: newLogger(process.env.TEST_LOG === 'debug' ? 'debug' : 'silent'),
  });
  registerReleaseController(mgr, {});
  const ctl = new AbortController();
  const running = mgr.run(ctl.signal);
  try {
    const repo = `tests/${id}/ghost`;
    const creds = { username: reg.username, password: reg.password };
    await pushImageTags(reg.url, repo, ['1.0.0'], creds);
    await createFleet('ghost', '1.0.0', {
      image: {
        repository: `${new URL(reg.url).host}/${repo}`,
        insecure: true,
        secretRef: 'registry',
        policy: { semver: { range: '^1.0.0' } },
      },
      interval: '10m',
    });
    await rest.create<Release>(releaseGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Release',
      metadata: { name: 'ghost-1.9.9', namespace: ns },
      spec: { fleet: 'ghost', version: '1.9.9' },
    });
    const r = await until(
      'Release ghost-1.9.9 VersionNotFound',
      async () => {
        const x = await release('ghost-1.9.9');
        const c = x?.status?.conditions?.find((c) => c.type === 'Progressing');
        return c?.reason === 'VersionNotFound' ? x : undefined;
      },
      20_000,
      50,
    );
    assert.equal(r.status?.phase, 'Pending');
    assert.equal(r.status?.startTime, undefined, 'not started');
    assert.equal(r.status?.waves, undefined, 'no waves planned');
    assert.match(
      r.status?.conditions?.find((c) => c.type === 'Progressing')?.message ?? '',
      new RegExp(`${repo.replaceAll('/', '\\/')}:1\\.9\\.9 is not in the registry`),
    );
    assert.equal((await fleetOf('ghost')).spec.version, '1.0.0');
  } finally {
    ctl.abort();
    await running;
  }
});
