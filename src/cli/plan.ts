// `kachiku plan drain <cluster>` and `kachiku plan retire <prod>`: dry runs. They read the
// Fleets, Tenants, Prods and MemberClusters with the user's kubeconfig, build each Fleet's
// placement input as the Fleet controller does, and print what the operation would do to the
// tenants. They change nothing.
import { Command, Option } from 'commander';
import { Rest } from '../runtime/rest.js';
import {
  drainPlans,
  planDocument,
  planText,
  retirePlan,
  type FleetPlan,
} from '../controllers/fleet/dryrun.js';
import { placer } from '../controllers/fleet/placer.js';
import { loadKubeconfig, readWorld } from './world.js';

interface Common {
  kubeconfig?: string;
  namespace?: string;
  output: 'text' | 'json';
}

// Moved to world.ts (shared with `kubectl kachiku`); still exported here for existing importers.
export { readWorld };

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
      const rest = new Rest(loadKubeconfig(o.kubeconfig));
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
      const kc = loadKubeconfig(o.kubeconfig);
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
