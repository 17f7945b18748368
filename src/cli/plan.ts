// `kachiku plan drain <cluster>` and `kachiku plan retire <prod>`: dry runs. They read the
// Fleets, Tenants, Prods and MemberClusters with the user's kubeconfig, build each Fleet's
// placement input as the Fleet controller does, and print what the operation would do to the
// tenants. They change nothing.
import { Command, Option } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { Rest, type KubeObject } from '../runtime/rest.js';
import type { Fleet } from '../api/fleet.js';
import type { MemberCluster } from '../api/membercluster.js';
import type { Prod } from '../api/prod.js';
import type { Tenant } from '../api/tenant.js';
import {
  fleetGvr,
  memberClusterGvr,
  prodGvr,
  tenantGvr,
  tenantSliceGvr,
} from '../controllers/fleet/context.js';
import type { TenantSlice } from '../api/tenantslice.js';
import {
  drainPlans,
  planDocument,
  planText,
  retirePlan,
  type FleetPlan,
  type World,
} from '../controllers/fleet/dryrun.js';
import { placer } from '../controllers/fleet/placer.js';
import type { Gvr } from '../runtime/rest.js';

interface Common {
  kubeconfig?: string;
  namespace?: string;
  output: 'text' | 'json';
}

function kubeconfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

async function listAll<T extends KubeObject>(
  rest: Rest,
  gvr: Gvr,
  namespace?: string,
): Promise<T[]> {
  const items: T[] = [];
  let cont: string | undefined;
  do {
    const page = await rest.list<T>(gvr, namespace, { limit: 500, continue: cont });
    items.push(...page.items);
    cont = page.metadata.continue || undefined;
  } while (cont);
  return items;
}

/** Everything a plan is computed from, read now (the demo reads it the same way). */
export async function readWorld(rest: Rest, namespace?: string): Promise<World> {
  const [fleets, tenants, prods, clusters, slices] = await Promise.all([
    listAll<Fleet>(rest, fleetGvr, namespace),
    listAll<Tenant>(rest, tenantGvr, namespace),
    listAll<Prod>(rest, prodGvr, namespace),
    listAll<MemberCluster>(rest, memberClusterGvr),
    listAll<TenantSlice>(rest, tenantSliceGvr, namespace),
  ]);
  return { fleets, tenants, prods, clusters, slices, now: Date.now() };
}

function print(
  operation: FleetPlan['operation'],
  target: string,
  plans: FleetPlan[],
  output: Common['output'],
  empty: string,
): void {
  if (output === 'json') {
    process.stdout.write(`${JSON.stringify(planDocument(operation, target, plans), null, 2)}\n`);
    return;
  }
  process.stdout.write(
    plans.length ? `${plans.map((p) => planText(p)).join('\n\n')}\n` : `${empty}\n`,
  );
}

const common = (c: Command) =>
  c
    .addOption(
      new Option(
        '--kubeconfig <path>',
        'kubeconfig of the control-plane cluster (default: KUBECONFIG, then ~/.kube/config)',
      ),
    )
    .addOption(
      new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'),
    );

export function planCommand(): Command {
  const plan = new Command('plan').description(
    'dry runs of disruptive operations: what they would do to tenants (nothing is changed)',
  );
  plan.addCommand(
    common(
      new Command('drain')
        .description(
          'draining a MemberCluster: per Fleet with Prods there, the tenants moved, Dual tenants exposed, tenants that cannot be placed',
        )
        .argument('<cluster>', 'the MemberCluster')
        .addOption(new Option('--fleet <name>', 'only this Fleet'))
        .addOption(
          new Option('-n, --namespace <ns>', 'only Fleets of this namespace (default: all)'),
        ),
    ).action(async (cluster: string, o: Common & { fleet?: string }) => {
      const rest = new Rest(kubeconfig(o.kubeconfig));
      try {
        const world = await readWorld(rest, o.namespace);
        const plans = drainPlans(world, cluster, placer, {
          namespace: o.namespace,
          fleet: o.fleet,
        });
        print(
          'drain',
          cluster,
          plans,
          o.output,
          `no Fleet has Prods in cluster ${cluster}: draining it moves no tenant`,
        );
      } finally {
        await rest.close();
      }
    }),
  );
  plan.addCommand(
    common(
      new Command('retire')
        .description(
          'retiring a Prod: the tenants moved, Dual tenants exposed, tenants that cannot be placed',
        )
        .argument('<prod>', 'the Prod')
        .addOption(
          new Option(
            '-n, --namespace <ns>',
            "the Prod's namespace (default: the kubeconfig context's, else default)",
          ),
        ),
    ).action(async (prod: string, o: Common) => {
      const kc = kubeconfig(o.kubeconfig);
      const namespace =
        o.namespace ?? (kc.getContextObject(kc.getCurrentContext())?.namespace || 'default');
      const rest = new Rest(kc);
      try {
        const world = await readWorld(rest, namespace);
        print('retire', prod, [retirePlan(world, namespace, prod, placer)], o.output, '');
      } finally {
        await rest.close();
      }
    }),
  );
  return plan;
}
