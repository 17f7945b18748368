// The set-up of the tests that run all of kachiku as one `kachiku controller` process (its
// ServiceAccount, deploy/rbac) over a Fleet in the lab's three members: a namespace of the test
// file's own with kachiku's rights in it, the members registered under names of its own, the
// members' LoadBalancer controller and the app's pods stood in for on loopback
// (test/support/loadbalancers.ts: kwok starts no containers), the controller started, and all of
// it removed again — the controller still running while the Prods go, so that what they made in
// the members goes too.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { Rest, isNotFound, type Gvr } from '../../src/runtime/rest.js';
import { applyCrds } from '../../src/cli/crds.js';
import { gvrOf } from '../../src/api/kind.js';
import { memberClusterKind, type MemberCluster } from '../../src/api/membercluster.js';
import { client, type KubeCluster } from '../../lab/src/parts/kube.js';
import type { LabState } from '../../lab/src/state.js';
import { labState } from './lab.js';
import {
  controlPlaneConfig,
  deleteProds,
  grantSecrets,
  namespaceGvr,
  registerMembers,
  testNamespace,
  type MemberToRegister,
} from './kube.js';
import { until } from './wait.js';
import { kachikuController, type Controller } from './process.js';
import { LoopbackLoadBalancers, freeLoopbackPort } from './loadbalancers.js';

const memberClusterGvr = gvrOf(memberClusterKind);

/** The lab's members the Fleet tests spread over: three failure domains. */
const LAB_MEMBERS = [
  { lab: 'onprem-a', domain: 'a', provider: 'onprem' },
  { lab: 'eks-b', domain: 'b', provider: 'eks' },
  { lab: 'onprem-c', domain: 'c', provider: 'onprem' },
] as const;

export interface FleetLabOptions {
  /** What the tests are ("the router tests"), for the error when the lab lacks a part. */
  who: string;
  /** The namespace's prefix. */
  prefix: string;
  /** The MemberClusters are `<clusterPrefix>a-<id>`, `…b-…`, `…c-…`. */
  clusterPrefix: string;
  /** The kinds waited for until served, and deleted in this order (before the Prods) at the end. */
  kinds: Gvr[];
  /** What the stand-ins answer and from which loopback address on (LoopbackLoadBalancers). */
  standIns?: { firstIp?: number; answer?: (prod: string) => string };
}

type Cond = { type: string; status: string };
const ready = (mc: MemberCluster) =>
  (mc.status?.conditions as Cond[] | undefined)?.some(
    (c) => c.type === 'Ready' && c.status === 'True',
  ) ?? false;

export class FleetLab {
  readonly lab: LabState;
  readonly cp: KubeCluster;
  readonly config = controlPlaneConfig();
  readonly rest = new Rest(this.config);
  readonly id = randomUUID().slice(0, 6);
  /** The three members, as registered: one per failure domain a, b, c. */
  readonly clusters: readonly [MemberToRegister, MemberToRegister, MemberToRegister];
  readonly lbs: LoopbackLoadBalancers;
  /** Set by prepare(). */
  ns = '';
  /** Set by startController(). */
  controller?: Controller;

  constructor(private readonly opts: FleetLabOptions) {
    this.lab = labState();
    const members = this.lab.kube!.clusters.filter((c) => c.role === 'member');
    for (const { lab } of LAB_MEMBERS)
      if (!members.some((m) => m.name === lab))
        throw new Error(`${opts.who} need the lab's three members (lab up --members 3)`);
    if (!this.lab.router) throw new Error('the lab has no tenant router: lab up again');
    this.cp = this.lab.kube!.clusters.find((c) => c.role === 'control-plane')!;
    const [a, b, c] = LAB_MEMBERS.map((m) => ({
      ...m,
      name: `${opts.clusterPrefix}${m.domain}-${this.id}`,
    }));
    this.clusters = [a!, b!, c!];
    this.lbs = new LoopbackLoadBalancers(
      members.map((m) => ({ name: m.name, rest: new Rest(client(m)) })),
      opts.standIns,
    );
  }

  /**
   * kachiku's CRDs, the namespace (served kinds, kachiku allowed its Secrets) and the three members
   * registered in it, labelled run=<id> for the Fleet's clusterSelector. Returns the namespace.
   */
  async prepare(): Promise<string> {
    await applyCrds(this.config);
    this.ns = await testNamespace(this.rest, this.opts.prefix);
    // Established comes a moment before the apiserver serves a new CRD's resource.
    for (const gvr of this.opts.kinds)
      await until(
        `${gvr.resource} served`,
        () => this.rest.list(gvr, this.ns).then(() => true),
        30_000,
      );
    await grantSecrets(this.rest, this.ns);
    await registerMembers(this.rest, this.ns, this.clusters, { run: this.id });
    return this.ns;
  }

  /** Starts the stand-ins, on a port free on each of `ips`; returns the port. */
  async standIns(ips: string[]): Promise<number> {
    const port = await freeLoopbackPort(ips);
    this.lbs.start();
    return port;
  }

  /** `kachiku controller` for the namespace, as kachiku's ServiceAccount, with `extra` flags. */
  startController(
    extra: string[] = [],
    env: Record<string, string> = {},
    opts: { own?: boolean } = {},
  ): Controller {
    this.controller = kachikuController(
      [
        '--kubeconfig',
        this.cp.kachikuKubeconfig!,
        '--namespace',
        this.ns,
        '--secret-namespaces',
        this.ns,
        '--no-leader-elect',
        '--metrics-bind-address',
        '0',
        '--health-probe-bind-address',
        '0',
        '--log-level',
        process.env.TEST_LOG === 'debug' ? 'debug' : 'info',
        ...extra,
      ],
      env,
      opts,
    );
    return this.controller;
  }

  /** Throws if the controller exited or a stand-in failed. */
  alive(): void {
    const c = this.controller!;
    if (c.exitCode !== null || c.signalCode !== null)
      throw new Error(
        `kachiku controller exited (${c.exitCode ?? c.signalCode}):\n${c.lines.slice(-30).join('\n')}`,
      );
    assert.deepEqual(this.lbs.errors, [], 'the stand-in load balancers work');
  }

  /** Until the three MemberClusters are Ready (the controller alive meanwhile). */
  async membersReady(timeoutMs = 60_000): Promise<void> {
    await until(
      'the three MemberClusters Ready',
      async () => {
        this.alive();
        const all = await Promise.all(
          this.clusters.map((c) =>
            this.rest.get<MemberCluster>(memberClusterGvr, undefined, c.name),
          ),
        );
        return all.every(ready) || undefined;
      },
      timeoutMs,
    );
  }

  /** For a look afterwards: TEST_CONTROLLER_LOG=<file> keeps every line of the controller's log. */
  keepLog(): void {
    if (process.env.TEST_CONTROLLER_LOG && this.controller)
      writeFileSync(process.env.TEST_CONTROLLER_LOG, this.controller.lines.join('\n') + '\n');
  }

  /**
   * For the after hook: `first`, then every object of the kinds and the Prods deleted while the
   * controller runs; then the controller stopped, the stand-ins, MemberClusters and namespace gone.
   */
  async down(opts: { first?: () => Promise<void>; prodsTimeoutMs?: number } = {}): Promise<void> {
    const { rest, ns } = this;
    this.keepLog();
    try {
      if (ns) {
        await opts.first?.();
        for (const kind of this.opts.kinds) {
          const left = await rest.list(kind, ns);
          await Promise.all(left.items.map((o) => rest.delete(kind, ns, o.metadata.name)));
        }
        await deleteProds(rest, ns, opts.prodsTimeoutMs ?? 90_000);
      }
    } catch (err) {
      console.log(
        `kachiku controller, last lines:\n${this.controller?.lines.slice(-40).join('\n')}`,
      );
      throw err;
    } finally {
      this.controller?.kill('SIGTERM');
      await this.controller?.exited;
      this.keepLog();
      await this.lbs.close();
      for (const c of this.clusters)
        await rest.delete(memberClusterGvr, undefined, c.name).catch((err) => {
          if (!isNotFound(err)) throw err;
        });
      if (ns) await rest.delete(namespaceGvr, undefined, ns);
    }
  }
}
