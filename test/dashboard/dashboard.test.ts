// `kachiku dashboard` in a real browser against the lab: Debian's chromium (never a downloaded
// one) driven by playwright-core. The dashboard runs as its own process with the lab's admin
// kubeconfig (the human's tool); kachiku's controllers run as one `kachiku controller` process as
// kachiku's ServiceAccount, as in test/controllers/release.test.ts: the Fleet controller places
// the tenants, the Prod controller runs the Prods in the three lab members, the Router controller
// programs the lab's HAProxy, the Release controller rolls versions out.
//
// The one stand-in, as in the release tests: the lab's members run kwok, which starts no
// containers, so test/support/loadbalancers.ts plays the members' LoadBalancer controller and the
// app's pods (a loopback HTTP server per Prod answering "<prod> <version>").
//
// The mirrors page shows a LoadBalancerMirror in a namespace of its own that no controller here
// watches, with a status the test writes as the mirror controller would (that controller is tested
// against Octavia and moto in test/controllers/loadbalancermirror.test.ts): what is tested is that
// the page shows it, both sides, the weights and the serving side. The dashboard therefore runs
// with -A.
//
// Screenshots of each page go to $KACHIKU_DASHBOARD_SHOTS (default $TMPDIR/kachiku-dashboard-shots).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { gvrOf } from '../../src/api/kind.js';
import { fleetKind, type Fleet } from '../../src/api/fleet.js';
import { tenantKind, type Tenant } from '../../src/api/tenant.js';
import { routerKind, type Router } from '../../src/api/router.js';
import { releaseKind, type Release } from '../../src/api/release.js';
import { memberClusterKind, type MemberCluster } from '../../src/api/membercluster.js';
import { prodKind, type Prod } from '../../src/api/prod.js';
import {
  loadBalancerMirrorKind,
  type LoadBalancerMirror,
} from '../../src/api/loadbalancermirror.js';
import { FLEET_LABEL, clusterOfProd } from '../../src/controllers/fleet/prods.js';
import { namespaceGvr, testNamespace } from '../support/kube.js';
import { until } from '../support/wait.js';
import { FleetLab } from '../support/fleetlab.js';
import { labHAProxy } from '../../lab/src/router.js';

const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const routerGvr = gvrOf(routerKind);
const releaseGvr = gvrOf(releaseKind);
const clusterGvr = gvrOf(memberClusterKind);
const prodGvr = gvrOf(prodKind);
const mirrorGvr = gvrOf(loadBalancerMirrorKind);
const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const prodWatch = new Map<string, string>();
const fl = new FleetLab({
  who: 'the dashboard test',
  prefix: 'dashboard',
  clusterPrefix: 'd',
  kinds: [releaseGvr, tenantGvr, fleetGvr, routerGvr],
  standIns: { firstIp: 80, answer: (prod) => `${prod} ${prodWatch.get(prod) ?? '?'}` },
});
const { lab, rest, cp, id, clusters } = fl;
const FLEET = `web-${id}`;
const shots = process.env.KACHIKU_DASHBOARD_SHOTS ?? join(tmpdir(), 'kachiku-dashboard-shots');

let ns = '';
let mirrorNs = '';
let dashboard: ChildProcess;
const dashboardLines: string[] = [];
let url = '';
let browser: BrowserContext;
let page: Page;
let profile = '';
let port = 0;

type Cond = { type: string; status: string };
const condition = (o: { status?: { conditions?: unknown[] } }, type: string) =>
  (o.status?.conditions as Cond[] | undefined)?.find((c) => c.type === type);
const tenantsNow = async () =>
  (await rest.list<Tenant>(tenantGvr, ns)).items.filter((t) => t.spec.fleet === FLEET);
const prodsNow = async () =>
  (await rest.list<Prod>(prodGvr, ns)).items.filter(
    (p) => p.metadata.labels?.[FLEET_LABEL] === FLEET,
  );

function alive(): void {
  fl.alive();
  if (dashboard.exitCode !== null || dashboard.signalCode !== null)
    throw new Error(`kachiku dashboard exited:\n${dashboardLines.slice(-30).join('\n')}`);
}

async function shot(name: string): Promise<void> {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

/** Navigates inside the page (pushState, no reload) to one of its pages. */
async function go(name: 'map' | 'releases' | 'tenants' | 'mirrors'): Promise<void> {
  await page.click(`[data-nav=${name}]`);
  await page.waitForSelector(`main[data-page=${name}]`);
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  console.log(`screenshots in ${shots}`);
  ns = await fl.prepare();
  port = await fl.standIns(['127.0.0.80', '127.0.0.85']);
  fl.startController([
    '--alertmanager-url',
    lab.alertmanager?.url ?? 'http://127.0.0.1:1',
    '--release-hold-timeout',
    '3s',
  ]);
  mirrorNs = await testNamespace(rest, 'dashboard-mirror');
  await standInMirror();
  // The dashboard, as a user runs it: the admin kubeconfig, all namespaces, any free port.
  dashboard = spawn(
    process.execPath,
    [main, 'dashboard', '--kubeconfig', cp.kubeconfig, '-A', '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  dashboard.stdout!.on('data', (b: Buffer) => dashboardLines.push(...b.toString().split('\n')));
  dashboard.stderr!.on('data', (b: Buffer) => dashboardLines.push(...b.toString().split('\n')));
  url = await until(
    'the dashboard listening',
    async () => {
      alive();
      return dashboardLines
        .join('\n')
        .match(/kachiku dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/)?.[1];
    },
    // `kachiku` loads every command's modules (the AWS SDK among them): seen taking 10-25 s to
    // start on this loaded 2-core machine.
    60_000,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; its output:\n${dashboardLines.join('\n')}`);
  });
  profile = mkdtempSync(join(tmpdir(), 'kachiku-chromium-'));
  // A fresh profile (--user-data-dir, which playwright passes for a persistent context).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('pageerror', (err) => console.log(`page error: ${err.message}`));

  await rest.create<Router>(routerGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Router',
    metadata: { name: 'edge', namespace: ns },
    spec: { haproxy: labHAProxy(lab.router!, '1s') },
  });
  await rest.create<Fleet>(fleetGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Fleet',
    metadata: { name: FLEET, namespace: ns },
    spec: {
      app: 'web',
      version: '1.0.0',
      template: {
        components: [
          {
            name: 'web',
            image: 'registry.example/web:{{version}}',
            ports: [{ name: 'http', port }],
            expose: 'LoadBalancer',
          },
        ],
        capacity: 20,
      },
      prods: { perDomain: 1 },
      clusterSelector: { matchLabels: { run: id } },
      routing: { router: 'edge' },
    },
  });
  await Promise.all(
    [
      ...Array.from({ length: 4 }, (_, i) => ({ name: `single-${i}`, redundancy: 'Single' })),
      ...Array.from({ length: 2 }, (_, i) => ({ name: `dual-${i}`, redundancy: 'Dual' })),
    ].map((t) =>
      rest.create<Tenant>(tenantGvr, {
        apiVersion: 'kachiku.io/v1alpha1',
        kind: 'Tenant',
        metadata: { name: t.name, namespace: ns },
        spec: {
          fleet: FLEET,
          redundancy: t.redundancy as 'Single' | 'Dual',
          hosts: [`${t.name}.web.example`],
        },
      }),
    ),
  );
  await until(
    'three Prods Ready and every tenant placed',
    async () => {
      alive();
      for (const p of await prodsNow()) prodWatch.set(p.metadata.name, p.status?.version ?? '?');
      const f = await rest.get<Fleet>(fleetGvr, ns, FLEET);
      if (f.status?.readyProds !== 3) return undefined;
      const ts = await tenantsNow();
      return ts.length === 6 && ts.every((t) => condition(t, 'Placed')?.status === 'True')
        ? true
        : undefined;
    },
    // The lab's members are slow to run new Prods when the machine is loaded.
    360_000,
    500,
  );
});

/** A LoadBalancerMirror with the status a mirror controller writes while the NLB side serves. */
async function standInMirror(): Promise<void> {
  await rest.create<LoadBalancerMirror>(mirrorGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'LoadBalancerMirror',
    metadata: { name: 'shop-lb', namespace: mirrorNs },
    spec: {
      octavia: { loadBalancerID: '3f6c2b9e-1d4a-4c8e-9b7a-2e5f1c0d8a61', cloud: 'lab' },
      aws: { region: 'eu-west-1', vpcID: 'vpc-0a1b2c3d', subnetIDs: ['subnet-0a1b2c3d'] },
      dns: {
        hostedZone: { name: 'shop.example' },
        recordNames: ['www.shop.example'],
        failoverMode: 'controller',
        healthChecks: { octavia: { port: 443 } },
      },
    },
  });
  const now = new Date().toISOString();
  await rest.patch(
    mirrorGvr,
    mirrorNs,
    'shop-lb',
    {
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Synced',
            message: 'in sync',
            lastTransitionTime: now,
          },
        ],
        loadBalancer: {
          arn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/shop/1',
          dnsName: 'shop-1.elb.eu-west-1.amazonaws.com',
        },
        listeners: [
          {
            port: 443,
            protocol: 'TCP',
            octaviaListenerID: 'b7e1c1de-5a0e-4a53-a0a4-0d8c6a7b9e10',
            octaviaProtocol: 'HTTPS',
            targets: 3,
          },
        ],
        membersSeen: 3,
        targetsRegistered: 3,
        lastSyncTime: now,
        dns: {
          octaviaAddress: '203.0.113.10',
          records: [
            { name: 'www.shop.example', setIdentifier: 'octavia', side: 'octavia', weight: 0 },
            { name: 'www.shop.example', setIdentifier: 'nlb', side: 'nlb', weight: 10 },
          ],
          healthChecks: [
            { side: 'octavia', state: 'Unhealthy', lastChecked: now },
            { side: 'nlb', state: 'Healthy', lastChecked: now },
          ],
          servingSide: 'nlb',
          servingSince: now,
          lastFailover: {
            time: now,
            from: 'both',
            to: 'nlb',
            reason: 'octavia health check failed',
          },
        },
      },
    },
    'merge',
    'status',
  );
}

after(async () => {
  try {
    await fl.down({
      first: async () => {
        await page?.close();
        await browser?.close();
      },
    });
  } finally {
    dashboard?.kill('SIGTERM');
    if (mirrorNs) await rest.delete(namespaceGvr, undefined, mirrorNs);
    if (profile) rmSync(profile, { recursive: true, force: true });
    await rest.close();
  }
});

test(
  'the fleet map shows the lab’s Prods, in their clusters and failure domains',
  { timeout: 60_000 },
  async () => {
    await page.goto(url);
    await page.waitForSelector('[data-live=true]');
    const prods = await prodsNow();
    assert.equal(prods.length, 3);
    for (const p of prods) {
      const cluster = clusterOfProd(p);
      const domain = clusters.find((c) => c.name === cluster)!.domain;
      await page.waitForSelector(
        `[data-domain="${domain}"] [data-cluster="${cluster}"] [data-prod="${p.metadata.name}"][data-version="1.0.0"]`,
        { timeout: 20_000 },
      );
    }
    const tenantsShown = await page.$$eval('[data-prod]', (els) =>
      els.reduce((n, e) => n + Number(e.getAttribute('data-tenants')), 0),
    );
    assert.equal(tenantsShown, 8, 'tenant copies on the map: 4 Single + 2 Dual × 2');
    await shot('fleet-map');
  },
);

test(
  'a cross-site POST without the token is refused with 403 and changes nothing',
  { timeout: 30_000 },
  async () => {
    const target = clusters[0].name;
    const drain = `${url}api/clusters/${target}/drain`;
    // A page of another origin (another loopback address) posting a form to the dashboard: what a
    // malicious site open in the same browser could do.
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<form id=f method=POST action="${drain}"></form><script>f.submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.2', resolve));
    const evilPort = (evil.address() as { port: number }).port;
    try {
      const other = await browser.newPage();
      const refused = other.waitForResponse((r) => r.url() === drain);
      await other.goto(`http://127.0.0.2:${evilPort}/`);
      assert.equal((await refused).status(), 403);
      await other.close();
    } finally {
      evil.close();
    }
    // Without a browser: no token; the token but another Origin; the token but another Host.
    const token = await page.$eval('meta[name="kachiku-token"]', (m) => m.getAttribute('content')!);
    assert.ok(token.length >= 32);
    for (const headers of [
      {},
      { 'x-kachiku-token': 'guess' },
      { 'x-kachiku-token': token, origin: 'http://evil.example' },
    ] as Record<string, string>[]) {
      const res = await fetch(drain, { method: 'POST', headers });
      assert.equal(res.status, 403, JSON.stringify(headers));
    }
    const rebound = await new Promise<number>((resolve, reject) => {
      // fetch() does not let Host be set: a raw request, as a DNS-rebound name would send.
      import('node:http').then(({ request }) => {
        const u = new URL(drain);
        request(
          {
            host: u.hostname,
            port: u.port,
            path: u.pathname,
            method: 'POST',
            headers: { host: 'evil.example', 'x-kachiku-token': token },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        )
          .on('error', reject)
          .end();
      }, reject);
    });
    assert.equal(rebound, 403);
    const mc = await rest.get<MemberCluster>(clusterGvr, undefined, target);
    assert.ok(!mc.spec.drain && !mc.spec.cordoned, 'the cluster untouched');
  },
);

test(
  "a release's waves advance on the page without a reload; pause and resume from the page",
  { timeout: 400_000 },
  async () => {
    await go('releases');
    await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'same page'));
    await rest.create<Release>(releaseGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Release',
      metadata: { name: 'v2', namespace: ns },
      spec: { fleet: FLEET, version: '2.0.0', strategy: { bakeTime: '3s' } },
    });
    // What the page shows, sampled: each wave's state.
    // The waves and the phase in one read of the page, so they are of one render.
    const seen: string[] = [];
    let phase: string | null = null;
    const sample = async () => {
      const now = await page.evaluate(() => {
        const release = document.querySelector('[data-release=v2]');
        return {
          phase: release?.getAttribute('data-phase') ?? null,
          states: [...(release?.querySelectorAll('[data-wave]') ?? [])]
            .map((e) => e.getAttribute('data-state'))
            .join(','),
        };
      });
      phase = now.phase;
      if (now.states && seen[seen.length - 1] !== now.states) seen.push(now.states);
      for (const p of await prodsNow()) prodWatch.set(p.metadata.name, p.status?.version ?? '?');
      return now.states;
    };
    await until(
      'the release planned, on the page',
      async () => ((await sample()) ? true : undefined),
      60_000,
      100,
    );
    await page.click('[data-release=v2] button:has-text("Pause")');
    await until(
      'Paused, in the API and on the page',
      async () => {
        alive();
        await sample();
        const r = await rest.get<Release>(releaseGvr, ns, 'v2');
        const shown = await page.getAttribute('[data-release=v2]', 'data-phase');
        return r.spec.paused === true && r.status?.phase === 'Paused' && shown === 'Paused'
          ? true
          : undefined;
      },
      60_000,
      100,
    );
    await shot('release-paused');
    await page.click('[data-release=v2] button:has-text("Resume")');
    let shotTaken = false;
    await until(
      'Succeeded on the page',
      async () => {
        alive();
        const states = await sample();
        if (!shotTaken && states.includes('Passed') && /Pending|Running|Baking/.test(states)) {
          await shot('release-in-progress');
          shotTaken = true;
        }
        return phase === 'Succeeded' ? true : undefined;
      },
      360_000,
      100,
    );
    const r = await rest.get<Release>(releaseGvr, ns, 'v2');
    assert.equal(r.status?.phase, 'Succeeded');
    assert.equal(r.spec.paused, false);
    const waves = r.status!.waves!.length;
    assert.ok(waves >= 2, `waves: ${waves}`);
    assert.equal(seen[seen.length - 1], Array(waves).fill('Passed').join(','));
    // Advancing live: the page showed the waves passing one at a time.
    const passed = seen.map((s) => s.split(',').filter((x) => x === 'Passed').length);
    for (let n = 1; n <= waves; n++)
      assert.ok(passed.includes(n), `the page showed ${n} wave(s) passed: ${seen.join(' | ')}`);
    assert.equal(
      await page.evaluate(() => (window as unknown as { marker?: string }).marker),
      'same page',
      'no reload',
    );
    if (!shotTaken) await shot('release-in-progress');
    await shot('release-succeeded');
  },
);

test(
  'draining a cluster from the page, after its plan, moves its tenants; uncordon from the page',
  { timeout: 300_000 },
  async () => {
    await go('map');
    const target = clusters[0].name;
    const onTarget = async () => {
      const prodCluster = new Map(
        (await prodsNow()).map((p) => [p.metadata.name, clusterOfProd(p)]),
      );
      return (await tenantsNow()).filter((t) =>
        [t.status?.prods?.primary, t.status?.prods?.secondary].some(
          (p) => p && prodCluster.get(p) === target,
        ),
      );
    };
    assert.ok((await onTarget()).length > 0, 'tenants on the cluster before');
    await page.click(`[data-cluster="${target}"] button:has-text("Drain…")`);
    const plan = (await page.textContent(`[data-plan="${target}"] pre`, { timeout: 10_000 }))!;
    // The plan shown is `kachiku plan drain`'s, computed by the same code.
    const cli = await promisify(execFile)(process.execPath, [
      main,
      'plan',
      'drain',
      target,
      '--kubeconfig',
      cp.kubeconfig,
    ]);
    assert.equal(plan.trim(), cli.stdout.trim());
    assert.match(plan, new RegExp(`Fleet ${ns}/${FLEET}: drain cluster ${target}`));
    await shot('drain-plan');
    await page.click(`[data-plan="${target}"] button.danger`);
    await until(
      'no tenant on the drained cluster (API), the cluster draining on the page',
      async () => {
        alive();
        const left = await onTarget();
        const tag = await page.textContent(`[data-cluster="${target}"] .cluster-head`);
        return left.length === 0 && tag?.includes('draining') ? true : undefined;
      },
      240_000,
      250,
    );
    const mc = await rest.get<MemberCluster>(clusterGvr, undefined, target);
    assert.equal(mc.spec.drain, true);
    await shot('fleet-map-drained');
    await page.click(`[data-cluster="${target}"] button:has-text("Uncordon")`);
    await until(
      'uncordoned (API)',
      async () => {
        const c = await rest.get<MemberCluster>(clusterGvr, undefined, target);
        return !c.spec.drain && !c.spec.cordoned ? true : undefined;
      },
      20_000,
      100,
    );
  },
);

test(
  'tenants: a host search shows the Prod serving it now and the placements seen',
  { timeout: 60_000 },
  async () => {
    await go('tenants');
    const t = await rest.get<Tenant>(tenantGvr, ns, 'dual-0');
    await page.fill('input.search', 'dual-0.web.example');
    await until(
      'one tenant found, its Prods as the API says',
      async () => {
        const rows = await page.$$('[data-tenant]');
        if (rows.length !== 1) return undefined;
        const primary = await page.textContent('[data-tenant="dual-0"] td.primary');
        return primary === t.status?.prods?.primary ? true : undefined;
      },
      10_000,
      100,
    );
    await page.click('[data-tenant="dual-0"] tr.clickable');
    const history = await page.textContent('[data-tenant="dual-0"] tr.history');
    assert.ok(history?.includes(t.status!.prods!.primary!), history ?? '');
    await shot('tenants');
  },
);

test(
  'mirrors: Octavia ↔ NLB ↔ Route 53, the weights and the serving side',
  { timeout: 30_000 },
  async () => {
    await go('mirrors');
    const card = '[data-mirror="shop-lb"]';
    await page.waitForSelector(card);
    const text = (await page.textContent(card))!;
    for (const want of [
      '203.0.113.10',
      'shop-1.elb.eu-west-1.amazonaws.com',
      'TCP 443: 3 targets',
      'weight www.shop.example 0',
      'weight www.shop.example 10',
      'serving: nlb',
      'octavia health check failed',
    ])
      assert.ok(text.includes(want), `${want} in: ${text}`);
    assert.equal(
      await page.$$eval(`${card} .side.serving h4`, (els) => els.map((e) => e.textContent).join()),
      'NLB',
    );
    await shot('mirrors');
  },
);
