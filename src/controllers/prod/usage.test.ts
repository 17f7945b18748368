import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../runtime/rest.js';
import {
  METRICS_API,
  sumUsage,
  type ApiGroupList,
  usageReader,
  type Get,
  type PodMetrics,
} from './usage.js';

const pod = (...usage: { cpu?: string; memory?: string }[]): PodMetrics => ({
  containers: usage.map((u, i) => ({ name: `c${i}`, usage: u })),
});

test('every container of every pod is added up, in Kubernetes units', () => {
  assert.deepEqual(
    sumUsage([
      pod({ cpu: '250000000n', memory: '123456Ki' }, { cpu: '12345n', memory: '1Gi' }),
      pod({ cpu: '250m', memory: '64Ki' }),
    ]),
    // 0.500012345 cores to the millicore; 123456Ki + 1Gi + 64Ki = 1172096Ki.
    { cpu: '500m', memory: '1172096Ki' },
  );
  assert.deepEqual(sumUsage([pod({ cpu: '1500m', memory: '1Gi' }, { cpu: '500m' })]), {
    cpu: '2',
    memory: '1Gi',
  });
  assert.deepEqual(sumUsage([pod({ cpu: '12345n', memory: '1000' })]), {
    cpu: '0',
    memory: '1000',
  });
});

test('no pods, or pods without containers, use nothing', () => {
  assert.deepEqual(sumUsage([]), { cpu: '0', memory: '0' });
  assert.deepEqual(sumUsage([{}, { containers: [{ name: 'x' }] }]), { cpu: '0', memory: '0' });
});

test('a malformed quantity throws', () => {
  assert.throws(() => sumUsage([pod({ cpu: 'lots' })]), /not a quantity: "lots"/);
});

/** A fake member cluster: answers by path, 404 for anything else; records the paths asked. */
function fake(answers: Record<string, unknown>) {
  const asked: string[] = [];
  const get: Get = <T>(path: string) => {
    asked.push(path);
    const a = answers[path];
    if (a instanceof Error) return Promise.reject(a);
    if (a === undefined)
      return Promise.reject(new ApiError(404, 'NotFound', `the server could not find ${path}`));
    return Promise.resolve(a as T);
  };
  return { get, asked };
}

const podsPath = `${METRICS_API}/namespaces/shop-prod/pods`;
const group = (name: string, ...versions: string[]) => ({
  name,
  versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
});
const without: ApiGroupList = { groups: [group('apps', 'v1'), group('kachiku.io', 'v1alpha1')] };
const withMetrics: ApiGroupList = {
  groups: [group('apps', 'v1'), group('metrics.k8s.io', 'v1beta1')],
};

test('where the metrics API is not served: undefined, and discovery is not asked again soon', async () => {
  let clock = 0;
  const read = usageReader(60_000, () => clock);
  const conn = {};
  const { get, asked } = fake({ '/apis': without });
  assert.equal(await read(conn, get, 'shop-prod'), undefined);
  clock = 59_999;
  assert.equal(await read(conn, get, 'shop-prod'), undefined);
  assert.deepEqual(asked, ['/apis']);
  // After the TTL, asked again (metrics-server may have been installed meanwhile).
  clock = 60_000;
  assert.equal(await read(conn, get, 'shop-prod'), undefined);
  assert.deepEqual(asked, ['/apis', '/apis']);
  // Another version of the group is not the one read.
  const old = fake({ '/apis': { groups: [group('metrics.k8s.io', 'v1alpha1')] } });
  assert.equal(await read({}, old.get, 'shop-prod'), undefined);
  assert.deepEqual(old.asked, ['/apis']);
});

test('where it is served: the namespace pods are read on every call, discovery once', async () => {
  const read = usageReader(60_000, () => 0);
  const conn = {};
  const { get, asked } = fake({
    '/apis': withMetrics,
    [podsPath]: { items: [pod({ cpu: '250m', memory: '128Mi' }), pod({ cpu: '750m' })] },
  });
  assert.deepEqual(await read(conn, get, 'shop-prod'), { cpu: '1', memory: '128Mi' });
  assert.deepEqual(await read(conn, get, 'shop-prod'), { cpu: '1', memory: '128Mi' });
  assert.deepEqual(asked, ['/apis', podsPath, podsPath]);
  // Served with no pods (yet): zero, not left out.
  const empty = fake({ '/apis': withMetrics, [podsPath]: { items: [] } });
  assert.deepEqual(await read({}, empty.get, 'shop-prod'), { cpu: '0', memory: '0' });
  // Another connection is asked on its own.
  const other = fake({ '/apis': without });
  assert.equal(await read({}, other.get, 'shop-prod'), undefined);
  assert.deepEqual(other.asked, ['/apis']);
});

test('failures throw; a failed discovery is kept like an answer', async () => {
  let clock = 0;
  const read = usageReader(60_000, () => clock);
  const conn = {};
  const unavailable = new ApiError(503, 'ServiceUnavailable', 'the server is currently unable');
  const { get, asked } = fake({ '/apis': unavailable });
  await assert.rejects(read(conn, get, 'shop-prod'), /unable/);
  await assert.rejects(read(conn, get, 'shop-prod'), /unable/);
  assert.deepEqual(asked, ['/apis']);

  // Served, but the read fails (an aggregated API registered, unavailable): thrown each time,
  // and discovery is kept.
  clock = 60_000;
  const served = fake({ '/apis': withMetrics, [podsPath]: unavailable });
  await assert.rejects(read(conn, served.get, 'shop-prod'), /unable/);
  await assert.rejects(read(conn, served.get, 'shop-prod'), /unable/);
  assert.deepEqual(served.asked, ['/apis', podsPath, podsPath]);
});

test('a 404 reading pod metrics throws and has discovery asked again', async () => {
  const read = usageReader(60_000, () => 0);
  const conn = {};
  const { get, asked } = fake({ '/apis': withMetrics });
  await assert.rejects(
    read(conn, get, 'shop-prod'),
    (e) => e instanceof ApiError && e.code === 404,
  );
  await assert.rejects(read(conn, get, 'shop-prod'));
  assert.deepEqual(asked, ['/apis', podsPath, '/apis', podsPath]);
});
