// `kubectl kachiku` through a real kubectl (built with the lab's Kubernetes binaries, same
// version) against the lab. kubectl finds the plugin on PATH — a shim `kubectl-kachiku` that runs
// the built dist/src/cli/main.js with this Node — and runs it as a user would, with the lab's admin
// kubeconfig (the human's). kachiku itself runs as `kachiku controller`, its ServiceAccount with
// deploy/rbac: it places the tenants on Prods in the lab's three kwok members, rolls the Release,
// and mirrors a real Octavia load balancer (the lab's) to an NLB and Route 53 records (moto).
// kwok starts no containers: the Prods' components have no LoadBalancer Service and no warm-up
// requests, so nothing stands in for their pods here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { isNotFound, type KubeObject } from '../../src/runtime/rest.js';
import { gvrOf } from '../../src/api/kind.js';
import { fleetKind, type Fleet } from '../../src/api/fleet.js';
import { tenantKind, type Tenant } from '../../src/api/tenant.js';
import { prodKind, type Prod } from '../../src/api/prod.js';
import { PROMOTE_ANNOTATION, releaseKind, type Release } from '../../src/api/release.js';
import { memberClusterKind, type MemberCluster } from '../../src/api/membercluster.js';
import {
  loadBalancerMirrorKind,
  type LoadBalancerMirror,
} from '../../src/api/loadbalancermirror.js';
import { PREVIOUS_FAILOVER_MODE_ANNOTATION } from '../../src/cli/kubectl/actions.js';
import { awsEnv } from '../../lab/src/parts/aws.js';
import { OctaviaBuilder } from '../../lab/src/octavia.js';
import { until } from '../support/wait.js';
import { FleetLab } from '../support/fleetlab.js';

const fleetGvr = gvrOf(fleetKind);
const tenantGvr = gvrOf(tenantKind);
const prodGvr = gvrOf(prodKind);
const releaseGvr = gvrOf(releaseKind);
const memberClusterGvr = gvrOf(memberClusterKind);
const mirrorGvr = gvrOf(loadBalancerMirrorKind);
// No stand-ins are started: nothing here exposes a LoadBalancer Service.
const fl = new FleetLab({
  who: 'the kubectl kachiku tests',
  prefix: 'plugin',
  clusterPrefix: 'k',
  kinds: [releaseGvr, tenantGvr, fleetGvr],
});
const { lab, rest, cp, id, clusters } = fl;
const kubectlBin = lab.kube?.kubectl ?? join(lab.kube!.binDir, 'kubectl');
if (!existsSync(kubectlBin)) throw new Error(`no kubectl at ${kubectlBin}: lab up again`);
const aws = lab.aws!;
const os = lab.openstack!;
Object.assign(process.env, awsEnv(aws));

const FLEET = `shop-${id}`;
const RELEASE = `${FLEET}-1.1.0`;

// The plugin on PATH as `npm install -g` puts it: kubectl-kachiku, a link to main.js (its name is
// what makes it "kubectl kachiku"), run here by a shim with this Node rather than the #! line's.
const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const bin = mkdtempSync(join(tmpdir(), 'kachiku-plugin-'));
mkdirSync(join(bin, 'lib'));
symlinkSync(main, join(bin, 'lib', 'kubectl-kachiku'));
writeFileSync(
  join(bin, 'kubectl-kachiku'),
  `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(bin, 'lib', 'kubectl-kachiku'))} "$@"\n`,
);
chmodSync(join(bin, 'kubectl-kachiku'), 0o755);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The user's environment: the lab's admin kubeconfig, the plugin's dir first on PATH. */
const userEnv = {
  PATH: `${bin}:${process.env.PATH}`,
  HOME: process.env.HOME,
  KUBECONFIG: cp.kubeconfig,
};

/** `kubectl ARGS` as the user: the lab's admin kubeconfig, the plugin's dir first on PATH. */
function kubectl(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      kubectlBin,
      args,
      {
        env: userEnv,
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}
let ns = '';
/** `kubectl kachiku ARGS -n <the test namespace>`, which must succeed. */
async function plugin(...args: string[]): Promise<string> {
  const r = await kubectl('kachiku', ...args, '-n', ns);
  assert.equal(r.code, 0, `kubectl kachiku ${args.join(' ')}: ${r.stderr}`);
  assert.ok(!r.stdout.includes('\x1b'), 'no colour when the output is not a terminal');
  return r.stdout;
}

let lbId = '';
let zoneId = '';
const octavia = new OctaviaBuilder(os);

const alive = () => fl.alive();

const getFleet = () => rest.get<Fleet>(fleetGvr, ns, FLEET);
const listTenants = async () => (await rest.list<Tenant>(tenantGvr, ns)).items;
const listProds = async () => (await rest.list<Prod>(prodGvr, ns)).items;
const ready = (o: { status?: { conditions?: { type: string; status: string }[] } }) =>
  o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

before(async () => {
  ns = await fl.prepare();
  fl.startController(
    ['--alertmanager-url', lab.alertmanager!.url],
    // The mirror controller finds OpenStack and AWS the standard way.
    { ...awsEnv(aws), OS_CLIENT_CONFIG_FILE: os.cloudsYaml },
    { own: true },
  );
  // The controller process starting included: on this shared 2-core machine (load ~20) a
  // minute was once not enough.
  await fl.membersReady(120_000);
  await rest.create<Fleet>(fleetGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Fleet',
    metadata: { name: FLEET, namespace: ns },
    spec: {
      app: 'shop',
      version: '1.0.0',
      template: {
        capacity: 10,
        components: [{ name: 'web', image: 'registry.example/shop-web:{{version}}' }],
      },
      clusterSelector: { matchLabels: { run: id } },
      prods: { perDomain: 1 },
    },
  });
  for (const [name, redundancy] of [
    ['acme', 'Dual'],
    ['bolt', 'Single'],
    ['cask', 'Single'],
    ['dune', 'Dual'],
  ] as const)
    await rest.create<Tenant>(tenantGvr, {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Tenant',
      metadata: { name, namespace: ns },
      spec: { fleet: FLEET, redundancy, hosts: [`${name}.shop.example`] },
    });
  await until(
    'three Prods Ready and the four tenants placed, as the Fleet reports',
    async () => {
      alive();
      const s = (await getFleet()).status;
      return s?.readyProds === 3 &&
        s.tenants?.placed === 4 &&
        s.prods?.length === 3 &&
        s.prods.every((p) => p.phase === 'Ready' || p.phase === 'InService')
        ? true
        : undefined;
    },
    150_000,
    500,
  );
});

after(async () => {
  try {
    await fl.down({
      // The mirror first, while the controller runs, so that its AWS resources go too.
      first: async () => {
        await rest.delete(mirrorGvr, ns, 'db').catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        await until(
          'the mirror gone (its AWS resources deleted)',
          () =>
            rest.get(mirrorGvr, ns, 'db').then(
              () => undefined,
              (e: unknown) => (isNotFound(e) ? true : undefined),
            ),
          60_000,
        );
      },
      prodsTimeoutMs: 120_000,
    });
  } finally {
    if (lbId) await octavia.deleteLoadBalancer(lbId);
    rmSync(bin, { recursive: true, force: true });
  }
});

test('kubectl finds the plugin on PATH; its help names it "kubectl kachiku"', async () => {
  const list = await kubectl('plugin', 'list');
  assert.ok(list.stdout.includes(join(bin, 'kubectl-kachiku')), list.stdout + list.stderr);
  const help = await kubectl('kachiku', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: kubectl kachiku /);
  for (const c of ['get', 'drain', 'uncordon', 'retire', 'release', 'mirror'])
    assert.match(help.stdout, new RegExp(`^  ${c} `, 'm'));
  const sub = await kubectl('kachiku', 'release', 'promote', '--help');
  assert.equal(sub.code, 0);
  assert.match(sub.stdout, /^Usage: kubectl kachiku release promote \[options\] <name>/);
});

test('get fleet: domains → clusters → Prods with phase, version, tenants and fill, as the Fleet reports them', async () => {
  const out = await plugin('get', 'fleet', FLEET);
  const fleet = await getFleet();
  const lines = out.trimEnd().split('\n');
  assert.ok(lines.includes(`Name:       ${FLEET}`), out);
  assert.ok(lines.includes(`Tenants:    4 placed, 0 unplaced`), out);
  assert.match(out, /^NAME\s+KIND\s+STATUS\s+VERSION\s+TENANTS\s+FILL$/m);
  const rowOf = (name: string) => lines.findIndex((l) => new RegExp(`(^|──)${name}\\s`).test(l));
  for (const [i, c] of clusters.entries()) {
    const p = fleet.status!.prods!.find((x) => x.cluster === c.name)!;
    const d = rowOf(`domain ${c.domain}`);
    const cl = rowOf(c.name);
    const pr = rowOf(p.name);
    // Nested in that order, each a level deeper.
    assert.ok(
      d > 0 && cl === d + 1 && pr === cl + 1,
      `${c.name} under domain ${c.domain}:\n${out}`,
    );
    assert.match(lines[d]!, new RegExp(`^${i === 2 ? '└' : '├'}──domain ${c.domain}\\s+Domain`));
    assert.match(lines[cl]!, new RegExp(`──${c.name}\\s+Cluster\\s+Ready\\s`));
    assert.match(
      lines[pr]!,
      new RegExp(
        `──${p.name}\\s+Prod\\s+${p.phase}\\s+1\\.0\\.0\\s+${p.tenants}\\s+${p.used}/${p.capacity}$`,
      ),
    );
  }
  // -o json: the Fleet object itself.
  const json = JSON.parse(await plugin('get', 'fleet', FLEET, '-o', 'json')) as Fleet;
  assert.equal(json.metadata.uid, fleet.metadata.uid);
  // kubectl's wording and exit status for a missing object.
  const missing = await kubectl('kachiku', 'get', 'fleet', 'nope', '-n', ns);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr.trim(),
    'Error from server (NotFound): fleets.kachiku.io "nope" not found',
  );
  const badKind = await kubectl('kachiku', 'get', 'pods', '-n', ns);
  assert.equal(badKind.code, 1);
});

test('get tenant: its two Prods with their clusters, and where its requests go', async () => {
  const t = await rest.get<Tenant>(tenantGvr, ns, 'acme');
  const { primary, secondary } = t.status!.prods!;
  const out = await plugin('get', 'tenant', 'acme');
  assert.match(out, /^Redundancy:\s+Dual$/m);
  assert.match(
    out,
    new RegExp(`^Requests go to:\\s+${primary} \\(as placed; the Fleet names no Router\\)$`, 'm'),
  );
  const prods = await listProds();
  for (const [copy, name] of [
    ['primary', primary],
    ['secondary', secondary],
  ] as const) {
    const p = prods.find((x) => x.metadata.name === name)!;
    assert.match(
      out,
      new RegExp(
        `^${copy}\\s+${name}\\s+${p.status!.cluster}\\s+${p.status!.phase}\\s+1\\.0\\.0`,
        'm',
      ),
    );
  }
});

const rvs = async () => {
  const objs: KubeObject[] = [await getFleet(), ...(await listTenants()), ...(await listProds())];
  return Object.fromEntries(
    objs.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]),
  );
};

// Before the drain: after it, the Fleet replaces and refills a Prod for a while.
test('retire --dry-run: the plan for the Prod, nothing changed', async () => {
  const prod = (await listProds()).find((p) => !p.spec.retired && p.status?.phase !== 'Retired')!;
  const before = await rvs();
  const out = await plugin('retire', prod.metadata.name, '--dry-run');
  assert.match(out, new RegExp(`^Fleet ${ns}/${FLEET}: retire Prod ${prod.metadata.name}$`, 'm'));
  assert.match(out, /spec.retired: false → true$/m);
  assert.deepEqual(await rvs(), before);
});

test('drain --dry-run prints the plan and changes nothing; drain moves the tenants; uncordon lifts it', async () => {
  const target = clusters[0]!.name;
  const mc0 = await rest.get<MemberCluster>(memberClusterGvr, undefined, target);
  const before = await rvs();
  const dry = await plugin('drain', target, '--dry-run');
  assert.match(dry, new RegExp(`^Fleet ${ns}/${FLEET}: drain cluster ${target}$`, 'm'));
  assert.match(dry, /^ {2}tenants moved: \d+ \(\d+ copies\)/m);
  assert.match(dry, /^ {2}Dual tenants exposed \(one serving copy\): /m);
  assert.match(dry, /^ {2}cannot be placed: /m);
  assert.match(
    dry,
    new RegExp(
      `^memberclusters.kachiku.io/${target} would be patched \\(dry run: nothing changed\\)\\n {2}spec.drain: false → true$`,
      'm',
    ),
  );
  // Nothing changed: the Fleet, Tenants and Prods not written at all; the MemberCluster's spec
  // untouched (its status alone may be written meanwhile by the controller's probe).
  assert.deepEqual(await rvs(), before);
  const mc1 = await rest.get<MemberCluster>(memberClusterGvr, undefined, target);
  assert.equal(mc1.metadata.generation, mc0.metadata.generation);
  assert.equal(mc1.spec.drain, false);

  const real = await plugin('drain', target);
  assert.match(
    real,
    new RegExp(`^memberclusters.kachiku.io/${target} patched\\n {2}spec.drain: false → true$`, 'm'),
  );
  assert.equal(
    (await rest.get<MemberCluster>(memberClusterGvr, undefined, target)).spec.drain,
    true,
  );
  const prodsThere = new Set(
    (await listProds()).filter((p) => p.status?.cluster === target).map((p) => p.metadata.name),
  );
  await until(
    'no tenant left on the drained cluster',
    async () => {
      alive();
      const ts = await listTenants();
      return (
        ts.every(
          (t) =>
            t.status?.prods?.primary &&
            !prodsThere.has(t.status.prods.primary) &&
            !prodsThere.has(t.status.prods.secondary ?? ''),
        ) || undefined
      );
    },
    60_000,
    500,
  );
  assert.match(
    await plugin('get', 'fleet', FLEET),
    new RegExp(`──${target}\\s+Cluster\\s+Draining\\s`),
  );
  assert.match(
    await plugin('drain', target),
    new RegExp(`^memberclusters.kachiku.io/${target} unchanged \\(already draining\\)$`, 'm'),
  );

  const un = await plugin('uncordon', target);
  assert.match(un, /^ {2}spec.drain: true → false$/m);
  const mc = await rest.get<MemberCluster>(memberClusterGvr, undefined, target);
  assert.equal(mc.spec.drain, false);
  assert.equal(mc.spec.cordoned ?? false, false);
});

test('a Release: get shows waves, Prods and elapsed time; promote ends the bake; pause stops it; dry runs change nothing', async () => {
  await rest.create<Release>(releaseGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'Release',
    metadata: { name: RELEASE, namespace: ns },
    // A bake far longer than the test: only promote ends it.
    spec: { fleet: FLEET, version: '1.1.0', strategy: { bakeTime: '1h' } },
  });
  const baking = await until(
    'wave 0 baking',
    async () => {
      alive();
      const r = await rest.get<Release>(releaseGvr, ns, RELEASE);
      return r.status?.waves?.[0]?.state === 'Baking' ? r : undefined;
    },
    90_000,
    500,
  );
  const w0 = baking.status!.waves![0]!;
  const out = await plugin('get', 'release', RELEASE);
  assert.match(out, /^Version:\s+1\.0\.0 → 1\.1\.0$/m);
  assert.match(out, /^Phase:\s+Progressing$/m);
  assert.match(out, /^Elapsed:\s+\d+(m\d+)?s$/m);
  assert.match(out, new RegExp(`^├──wave 0 \\(${w0.step}\\) ◀\\s+Wave\\s+Baking\\s`, 'm'));
  for (const p of w0.prods)
    assert.match(out, new RegExp(`──${p.name}\\s+Prod\\s+Baking\\s+${p.tenants}\\s`));

  for (const action of ['promote', 'pause', 'abort']) {
    const dry = await plugin('release', action, RELEASE, '--dry-run');
    assert.match(dry, /would be patched \(dry run: nothing changed\)/);
  }
  const afterDry = await rest.get<Release>(releaseGvr, ns, RELEASE);
  // The controller may have written status meanwhile (a Prod's state): the spec and annotations are what a dry run must not touch.
  assert.equal(afterDry.metadata.generation, baking.metadata.generation);
  assert.equal(afterDry.metadata.annotations?.[PROMOTE_ANNOTATION], undefined);

  const promoted = await plugin('release', 'promote', RELEASE);
  assert.match(
    promoted,
    new RegExp(`^ {2}metadata.annotations.${PROMOTE_ANNOTATION}: \\(unset\\) → "0"$`, 'm'),
  );
  await until(
    'wave 0 Passed long before its hour of bake',
    async () => {
      const r = await rest.get<Release>(releaseGvr, ns, RELEASE);
      return r.status?.waves?.[0]?.state === 'Passed' || undefined;
    },
    30_000,
    250,
  );
  assert.match(await plugin('get', 'release', RELEASE), /^├──wave 0 \(\w+\)\s+Wave\s+Passed\s/m);

  const paused = await plugin('release', 'pause', RELEASE);
  assert.match(paused, /^ {2}spec.paused: false → true$/m);
  assert.equal((await rest.get<Release>(releaseGvr, ns, RELEASE)).spec.paused, true);
  await until(
    'the Release Paused',
    async () =>
      (await rest.get<Release>(releaseGvr, ns, RELEASE)).status?.phase === 'Paused' || undefined,
    30_000,
    250,
  );
  assert.match(await plugin('get', 'release', RELEASE), /^Phase:\s+Paused \(pause requested\)$/m);
});

test('get release --watch: a new frame for a change, pushed by the watch', async () => {
  const child = spawn(kubectlBin, ['kachiku', 'get', 'release', RELEASE, '-w', '-n', ns], {
    env: userEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const frames = () => out.split(`Name:       ${RELEASE}\n`).slice(1);
  try {
    await until('a first frame', () => frames().length > 0 || undefined, 30_000, 100);
    assert.match(frames().at(-1)!, /^Phase:\s+Paused \(pause requested\)$/m);
    // Not a terminal: frames one after the other, no screen clearing.
    assert.ok(!out.includes('\x1b'));
    await rest.patch(releaseGvr, ns, RELEASE, { spec: { paused: false } }, 'merge');
    await until(
      'a frame without the pause request',
      () =>
        frames()
          .at(-1)
          ?.match(/^Phase:\s+\w+$/m)
          ? true
          : undefined,
      30_000,
      100,
    );
  } finally {
    child.kill('SIGINT');
  }
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, 'Ctrl-C ends the watch cleanly');
});

test('a mirror: get shows Octavia ↔ NLB listeners and targets, DNS weights and serving side; maintenance on and off', async () => {
  const r53 = new Route53Client({});
  const zoneName = `${ns}.example.com`;
  const zone = await r53.send(
    new CreateHostedZoneCommand({ Name: zoneName, CallerReference: randomUUID() }),
  );
  zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
  lbId = await octavia.loadBalancer(`plugin-${id}`);
  const l = await octavia.listener(lbId, 'TCP', 5432);
  const p = await octavia.pool(lbId, l, 'TCP');
  await octavia.member(lbId, p, { address: '192.168.40.1', protocol_port: 5432 });
  await octavia.member(lbId, p, { address: '192.168.40.2', protocol_port: 5432 });
  await rest.create<LoadBalancerMirror>(mirrorGvr, {
    apiVersion: 'kachiku.io/v1alpha1',
    kind: 'LoadBalancerMirror',
    metadata: { name: 'db', namespace: ns },
    spec: {
      octavia: { loadBalancerID: lbId, cloud: os.cloud },
      aws: { region: aws.region, vpcID: aws.vpc.id, subnetIDs: aws.subnets.map((s) => s.id) },
      syncInterval: '5s',
      dns: {
        hostedZone: { id: zoneId },
        recordNames: [`db.${zoneName}`],
        octaviaAddress: '203.0.113.40',
        healthChecks: { octavia: { port: 5432 } },
      },
    },
  });
  const m = await until(
    'the mirror Ready with its DNS records',
    async () => {
      alive();
      const x = await rest.get<LoadBalancerMirror>(mirrorGvr, ns, 'db');
      return ready(x) && x.status?.dns?.records?.length === 2 && x.status.listeners?.length
        ? x
        : undefined;
    },
    90_000,
    500,
  );
  const out = await plugin('get', 'mirror', 'db');
  assert.match(out, new RegExp(`^Octavia LB:\\s+${lbId}$`, 'm'));
  assert.match(
    out,
    new RegExp(`^NLB:\\s+${m.status!.loadBalancer!.dnsName.replace(/\./g, '\\.')}$`, 'm'),
  );
  assert.match(out, /^5432\s+TCP\s+TCP\s+2$/m);
  assert.match(out, /^Failover mode:\s+route53$/m);
  assert.match(out, new RegExp(`^Serving:\\s+${m.status!.dns!.servingSide}`, 'm'));
  for (const r of m.status!.dns!.records!)
    assert.match(
      out,
      new RegExp(`^${r.name.replace(/\./g, '\\.')}\\s+${r.side}\\s+${r.weight}\\s`, 'm'),
    );

  const before = (await rest.get<LoadBalancerMirror>(mirrorGvr, ns, 'db')).metadata.generation;
  const dry = await plugin('mirror', 'maintenance', 'db', 'on', '--dry-run');
  assert.match(dry, /^ {2}spec.dns.failoverMode: "route53" → "maintenance"$/m);
  assert.equal(
    (await rest.get<LoadBalancerMirror>(mirrorGvr, ns, 'db')).metadata.generation,
    before,
  );

  await plugin('mirror', 'maintenance', 'db', 'on');
  let now = await rest.get<LoadBalancerMirror>(mirrorGvr, ns, 'db');
  assert.equal(now.spec.dns!.failoverMode, 'maintenance');
  assert.equal(now.metadata.annotations?.[PREVIOUS_FAILOVER_MODE_ANNOTATION], 'route53');
  assert.match(await plugin('get', 'mirror', 'db'), /^Failover mode:\s+maintenance$/m);
  const off = await plugin('mirror', 'maintenance', 'db', 'off');
  assert.match(off, /^ {2}spec.dns.failoverMode: "maintenance" → "route53"$/m);
  now = await rest.get<LoadBalancerMirror>(mirrorGvr, ns, 'db');
  assert.equal(now.spec.dns!.failoverMode, 'route53');
  assert.equal(now.metadata.annotations?.[PREVIOUS_FAILOVER_MODE_ANNOTATION], undefined);
});
