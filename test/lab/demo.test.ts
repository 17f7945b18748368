// `kachiku demo` keeps running until Ctrl-C, then tears down everything it started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { readState } from '../../lab/src/context.js';
import { groupMembers, isAlive } from '../../lab/src/proc.js';
import { until } from '../support/wait.js';
import { Rest } from '../../src/runtime/rest.js';
import { client } from '../../lab/src/parts/kube.js';
import { tenantGvr } from '../../src/controllers/fleet/context.js';
import type { Tenant } from '../../src/api/tenant.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

// Its own lab, both pillars and two releases: about 2–3 minutes on a shared 2-core machine.
test(
  'the demo runs until Ctrl-C, then stops every process of its lab',
  { timeout: 330_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kachiku-demo-'));
    const demo = spawn(process.execPath, [main, 'demo', '--dir', dir, '--members', '3'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    demo.stdout.on('data', (c: Buffer) => (out += c.toString()));
    demo.stderr.resume();
    const exited = new Promise<number | null>((resolve) =>
      demo.once('exit', (code) => resolve(code)),
    );
    try {
      // An error ends the demo (its lab torn down): fail at once, with what it printed.
      const first = await Promise.race([
        until(
          'the demo banner',
          () => (out.includes('Press Ctrl-C') ? true : undefined),
          270_000,
          200,
        ),
        exited.then((code) => ({ code })),
      ]);
      if (first !== true)
        throw new Error(`the demo exited with ${first.code}:\n${out.slice(-3000)}`);
      assert.match(out, /Kubernetes v1\.33\.13/);
      assert.match(out, /OpenStack: Keystone http:\/\/127\.0\.0\.1:\d+\/v3/);
      // The first pillar, shown: the mirror Ready, the NLB's targets, then a member added in
      // Octavia registered in AWS.
      assert.match(
        out,
        /kachiku controller running as ServiceAccount kachiku-system\/kachiku \(token kubeconfig /,
      );
      assert.match(out, /Ready in [\d.]+ s: NLB \S+/);
      assert.match(
        out,
        /listener TCP 80 → target group kk-web-80tcp-\w+, HTTP check \/healthz: 192\.168\.100\.11:8080, 192\.168\.100\.12:8080/,
      );
      assert.match(out, /registered in the NLB [\d.]+ s later/);
      assert.match(out, /192\.168\.100\.11:8080, 192\.168\.100\.12:8080, 192\.168\.100\.13:8080/);
      // DNS failover: the weighted records, a maintenance shift to the NLB, and back.
      assert.match(out, /www\.demo\.kachiku\.test A weight {2}90 → [\d.]+ \(health check/);
      assert.match(out, /www\.demo\.kachiku\.test A weight {2}10 → alias /);
      // A MirrorPolicy: a load balancer created with its tag gets a mirror from Octavia's
      // create.end (the policy's list is 10 minutes away), then an NLB.
      const policyMirror = out.match(
        /LoadBalancerMirror demo\/\S+ made by the policy ([\d.]+) s later \(from the notification/,
      );
      assert.ok(policyMirror, 'the policy made a mirror');
      assert.ok(Number(policyMirror[1]) < 30, `made ${policyMirror[1]} s after create.end`);
      assert.match(out, /… Ready [\d.]+ s after the load balancer: NLB \S+/);
      assert.match(out, /policy status: 1 load balancers matched, 1 mirrors, 0 conflicts/);
      assert.match(
        out,
        /www\.demo\.kachiku\.test A weight 100 → alias [^\n]*\n[^\n]*serving: nlb since/,
      );
      // The second pillar: three member clusters registered, a Fleet of one Prod per failure
      // domain placed, provisioned and warmed up, 24 tenants placed, then one cluster drained —
      // the plan printed first — leaving no tenant there.
      assert.match(out, /MemberCluster onprem-a: onprem, .*3\/3 nodes Ready/);
      assert.match(out, /Fleet shop: one Prod per failure domain \(3\)/);
      for (const cluster of ['onprem-a', 'eks-b', 'onprem-c'])
        assert.match(out, new RegExp(`shop-[\\w-]+: Ready in ${cluster} .*web 2/2, worker 1/1`));
      assert.match(out, /warm-up requests answered: 60/);
      assert.match(out, /24 Tenants \(8 Dual\) placed in [\d.]+ s:/);
      assert.match(
        out,
        /kachiku plan drain onprem-a \(a dry run: nothing changes\):\nFleet demo\/shop: drain cluster onprem-a\n {2}tenants moved: \d+/,
      );
      const drained = /Drained in [\d.]+ s: no tenant left in onprem-a; (\d+) tenants moved/.exec(
        out,
      );
      assert.ok(drained, 'the drain finished');
      const planned = /drain cluster onprem-a\n {2}tenants moved: (\d+)/.exec(out)!;
      assert.equal(drained[1], planned[1], 'as many tenants moved as the plan said');
      const tail = out.slice(drained.index);
      assert.match(tail, /\(onprem-a\): 0 P \+ 0 S\n/);
      assert.match(out, /… and back:\n(.*\n){2}\s*serving: both since/);
      // Routed: a few requests per tenant through the lab's HAProxy, before and after the drain,
      // each answered by the Prod its Tenant status names as primary (then: the placement printed
      // before the drain; after: the Tenants as the apiserver has them now).
      const sweeps = [
        ...out.matchAll(
          /Through HAProxy \(http:\/\/127\.0\.0\.1:\d+\), 3 requests per tenant[^\n]*stand-ins for the app's pods[^\n]*\n((?: {2}.*\n)+)/g,
        ),
      ].map((m) => answeredBy(m[1]!));
      assert.equal(sweeps.length, 2, 'requests before and after the drain');
      const placedBefore = new Map<string, string>();
      for (const m of out
        .slice(0, out.indexOf('kachiku plan drain'))
        .matchAll(/^ {2}(shop-\S+) \([\w-]+\): \d+ P \+ \d+ S(?: — (.*))?$/gm))
        for (const t of (m[2] ?? '').split(' ').filter((w) => w && !w.endsWith('(S)')))
          placedBefore.set(t, m[1]!);
      assert.equal(placedBefore.size, 24);
      assert.deepEqual(
        sweeps[0],
        placedBefore,
        'before the drain: each tenant answered by its primary',
      );
      const placedAfter = new Map<string, string>();
      for (const m of tail
        .slice(0, tail.indexOf('Through HAProxy'))
        .matchAll(/^ {2}(shop-\S+) \([\w-]+\): \d+ P \+ \d+ S(?: — (.*))?$/gm))
        for (const t of (m[2] ?? '').split(' ').filter((w) => w && !w.endsWith('(S)')))
          placedAfter.set(t, m[1]!);
      assert.deepEqual(
        sweeps[1],
        placedAfter,
        'after the drain: each tenant answered by its primary as printed after the drain',
      );

      // Releases: a tag pushed to the lab's git server → a Release in waves (canary first), the
      // Fleet and every tenant's answers on the new version; a second tag, an alert for the Prod
      // of its second wave while it bakes → that wave fails naming the alert, rolled back, every
      // tenant answered by a Prod on the good version again.
      assert.match(
        out,
        /Release shop-1\.1\.0 \([\d.]+ s after the push\), from 1\.0\.0: \d+ waves — 1\. canary: /,
      );
      assert.match(
        out,
        /Release shop-1\.1\.0: Succeeded [\d.]+ s after the push; Fleet shop spec\.version = 1\.1\.0\n {2}requests through HAProxy answered by: 1\.1\.0: 24 tenants\n/,
      );
      const fired = /Alertmanager: ShopErrorRate fires for (\S+) \(wave 2, baking\)/.exec(out);
      assert.ok(fired, 'the alert fired during wave 2');
      assert.match(out, new RegExp(`wave 2 \\(\\w+\\) Failed: ${fired[1]} `));
      assert.match(
        out,
        /Release shop-1\.2\.0: RolledBack — gate errors failed on ShopErrorRate; \d+ tenants moved to Prods on 1\.1\.0[^\n]*\n {2}requests through HAProxy answered by: 1\.1\.0: 24 tenants\n/,
      );
      // And as an operator sees it, through the kubectl plugin's view.
      assert.match(
        out,
        /\$ kubectl kachiku get release shop-1\.2\.0 -n demo\n {2}Name: +shop-1\.2\.0\n/,
      );
      const cp = controlPlaneOf(dir);
      const tenants = (await new Rest(client(cp)).list<Tenant>(tenantGvr, 'demo')).items;
      assert.equal(tenants.length, 24);
      await sleep(2000);
      assert.equal(demo.exitCode, null, 'still running after the lab is up');
      const running = readState(dir);
      assert.ok(running?.processes.every((p) => isAlive(p)));
      demo.kill('SIGINT');
      assert.equal(await exited, 0);
      const record = readState(join(dir, 'logs'));
      assert.ok(record && record.processes.length > 10);
      assert.deepEqual(
        record.processes
          .filter((p) => isAlive(p) || groupMembers(p.pid).length > 0)
          .map((p) => p.name),
        [],
      );
    } finally {
      demo.kill('SIGKILL');
    }
  },
);

/** Tenant → the one Prod that answered it, from the lines `  <prod> answered t01 t02 …`. */
function answeredBy(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.trimEnd().split('\n')) {
    const m = /^ {2}(\S+) answered (.+)$/.exec(line);
    assert.ok(m, `an answer line: ${line}`);
    for (const t of m[2]!.split(' ')) {
      assert.ok(!out.has(t), `${t} answered by one Prod only`);
      out.set(t, m[1]!);
    }
  }
  return out;
}

function controlPlaneOf(dir: string) {
  const cp = readState(dir)?.kube?.clusters.find((c) => c.role === 'control-plane');
  assert.ok(cp, 'the demo lab has a control plane');
  return cp;
}
