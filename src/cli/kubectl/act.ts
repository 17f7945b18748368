// The actions: drain/uncordon a MemberCluster, retire a Prod, pause/resume/abort/promote a Release,
// put a mirror's DNS failover in maintenance. Each reads the object, prints the plan (drain and
// retire: what happens to the tenants, computed as `kachiku plan` does) and the change, then —
// unless --dry-run — sends the change as a JSON merge patch conditional on the resourceVersion
// read (a concurrent change makes it fail rather than act on a stale plan).
import { Argument, Command, Option } from 'commander';
import { gvrOf } from '../../api/kind.js';
import { memberClusterKind, type MemberCluster } from '../../api/membercluster.js';
import { prodKind, type Prod } from '../../api/prod.js';
import type { Release } from '../../api/release.js';
import type { LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import type { Gvr, KubeObject } from '../../runtime/rest.js';
import {
  drainPlans,
  planDocument,
  planText,
  retirePlan,
  type FleetPlan,
} from '../../controllers/fleet/dryrun.js';
import { placer } from '../../controllers/fleet/placer.js';
import { readWorld } from '../world.js';
import { withConnection, withRest, type Connection, type Globals } from './flags.js';
import { serialize } from './output.js';
import { fail } from './run.js';
import { GVR } from './get.js';
import {
  drainChange,
  maintenanceChange,
  releaseChange,
  retireChange,
  uncordonChange,
  type Change,
  type ReleaseAction,
} from './actions.js';

const memberClusterGvr = gvrOf(memberClusterKind);
const prodGvr = gvrOf(prodKind);

interface Options extends Globals {
  dryRun?: boolean;
  output?: 'json' | 'yaml';
}

function common(c: Command): Command {
  withConnection(c);
  return c
    .addOption(new Option('--dry-run', 'print the plan and the change, change nothing'))
    .addOption(
      new Option('-o, --output <format>', 'the plan and the change as json or yaml').choices([
        'json',
        'yaml',
      ]),
    );
}

interface Act<T extends KubeObject> {
  gvr: Gvr;
  namespace: string | undefined;
  name: string;
  /** The tenants' plan, for drain and retire. */
  plan?: (c: Connection, obj: T) => Promise<FleetPlan[]>;
  change: (obj: T) => Change;
}

/** Read, plan, print, and (not in a dry run) patch. */
async function act<T extends KubeObject>(c: Connection, a: Act<T>, o: Options): Promise<void> {
  const obj = await c.rest.get<T>(a.gvr, a.namespace, a.name);
  const plans = a.plan ? await a.plan(c, obj) : undefined;
  const ch = a.change(obj);
  const ref = `${a.gvr.resource}.${a.gvr.group}/${a.name}`;
  const patch = ch.patch && {
    ...ch.patch,
    metadata: {
      ...(ch.patch.metadata as object | undefined),
      resourceVersion: obj.metadata.resourceVersion,
    },
  };
  if (patch && !o.dryRun) await c.rest.patch(a.gvr, a.namespace, a.name, patch, 'merge');
  if (o.output) {
    const doc = {
      object: ref,
      dryRun: Boolean(o.dryRun),
      ...(plans && plans.length
        ? { plan: planDocument(plans[0]!.operation, plans[0]!.target, plans) }
        : {}),
      changes: ch.changes,
      ...(ch.patch ? { patch: ch.patch } : { unchanged: ch.note }),
    };
    process.stdout.write(serialize(doc, o.output));
    return;
  }
  const lines: string[] = [];
  if (plans) {
    lines.push(
      ...(plans.length ? plans.map((p) => planText(p)) : ['no Fleet has tenants to move']),
    );
    lines.push('');
  }
  if (!ch.patch) lines.push(`${ref} unchanged (${ch.note})`);
  else {
    lines.push(`${ref} ${o.dryRun ? 'would be patched (dry run: nothing changed)' : 'patched'}`);
    lines.push(...ch.changes.map((x) => `  ${x}`));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

const drainPlan = (only: { namespace?: string }) => async (c: Connection, mc: MemberCluster) =>
  drainPlans(await readWorld(c.rest, only.namespace), mc.metadata.name, placer, only);

export function drainCommand(): Command {
  return common(
    new Command('drain')
      .description(
        'drain a MemberCluster (spec.drain): its tenants move to Prods elsewhere, Dual tenants keep a copy serving; the plan first (tenants moved, Dual tenants exposed, tenants that cannot be placed)',
      )
      .argument('<cluster>', 'the MemberCluster'),
  )
    .addHelpText('after', '\n-n limits the plan to the Fleets of one namespace (default: all).')
    .action((cluster: string, o: Options) =>
      withRest(o, (c) =>
        act<MemberCluster>(
          c,
          {
            gvr: memberClusterGvr,
            namespace: undefined,
            name: cluster,
            // A cluster serves every namespace: plan for all unless -n was given.
            plan: drainPlan({ namespace: o.namespace }),
            change: drainChange,
          },
          o,
        ),
      ).catch(fail),
    );
}

export function uncordonCommand(): Command {
  return common(
    new Command('uncordon')
      .description(
        'end a drain and lift the cordon of a MemberCluster: new Prods and tenants may go there again, Fleets rebalance onto it gradually',
      )
      .argument('<cluster>', 'the MemberCluster'),
  ).action((cluster: string, o: Options) =>
    withRest(o, (c) =>
      act<MemberCluster>(
        c,
        { gvr: memberClusterGvr, namespace: undefined, name: cluster, change: uncordonChange },
        o,
      ),
    ).catch(fail),
  );
}

export function retireCommand(): Command {
  return common(
    new Command('retire')
      .description(
        'retire a Prod (spec.retired): its tenants move, then it is removed; the plan first',
      )
      .argument('<prod>', 'the Prod'),
  ).action((prod: string, o: Options) =>
    withRest(o, (c) =>
      act<Prod>(
        c,
        {
          gvr: prodGvr,
          namespace: c.namespace,
          name: prod,
          plan: async (c2) => [
            retirePlan(await readWorld(c2.rest, c2.namespace), c2.namespace, prod, placer),
          ],
          change: retireChange,
        },
        o,
      ),
    ).catch(fail),
  );
}

const RELEASE_ACTIONS: Record<ReleaseAction, string> = {
  pause: 'stop before the next step (spec.paused)',
  resume: 'go on after a pause (after a failed wave under onFailure Pause: bake it again)',
  abort: 'roll back what was updated and stop for good (spec.aborted)',
  promote: "end the current wave's bake now (its gates still decide: a firing one fails it)",
};

export function releaseCommand(): Command {
  const cmd = new Command('release').description('act on a Release: pause, resume, abort, promote');
  for (const [action, description] of Object.entries(RELEASE_ACTIONS) as [ReleaseAction, string][])
    cmd.addCommand(
      common(new Command(action).description(description).argument('<name>', 'the Release')).action(
        (name: string, o: Options) =>
          withRest(o, async (c) => {
            const target = { gvr: GVR.release, namespace: c.namespace, name };
            if (action === 'resume' && !o.dryRun) {
              // Paused by a failed wave (onFailure Pause), not by its spec: the Release resumes
              // on a spec change that leaves it unpaused — paused, then not.
              const r = await c.rest.get<Release>(GVR.release, c.namespace, name);
              if (r.status?.phase === 'Paused' && !r.spec.paused)
                await act<Release>(c, { ...target, change: (x) => releaseChange(x, 'pause') }, o);
            }
            await act<Release>(c, { ...target, change: (r) => releaseChange(r, action) }, o);
          }).catch(fail),
      ),
    );
  return cmd;
}

export function mirrorCommand(): Command {
  const cmd = new Command('mirror').description('act on a LoadBalancerMirror');
  cmd.addCommand(
    common(
      new Command('maintenance')
        .description(
          'DNS failover in maintenance (on: spec.dns.failoverMode maintenance, the weights as written, no failover; off: the mode it had before)',
        )
        .argument('<name>', 'the LoadBalancerMirror')
        .addArgument(new Argument('<state>', 'on or off').choices(['on', 'off'])),
    ).action((name: string, state: 'on' | 'off', o: Options) =>
      withRest(o, (c) =>
        act<LoadBalancerMirror>(
          c,
          {
            gvr: GVR.mirror,
            namespace: c.namespace,
            name,
            change: (m) => maintenanceChange(m, state === 'on'),
          },
          o,
        ),
      ).catch(fail),
    ),
  );
  return cmd;
}
