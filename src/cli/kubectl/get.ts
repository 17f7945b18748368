// `kubectl kachiku get KIND [NAME]`: read the objects a view is made of, render it (views.ts), and
// with --watch redraw it on every change.
import { Command, Option } from 'commander';
import { gvrOf } from '../../api/kind.js';
import { fleetKind, type Fleet } from '../../api/fleet.js';
import { releaseKind, type Release } from '../../api/release.js';
import { tenantKind, type Tenant } from '../../api/tenant.js';
import { prodKind, type Prod } from '../../api/prod.js';
import { routerKind, type Router } from '../../api/router.js';
import { memberClusterKind, type MemberCluster } from '../../api/membercluster.js';
import { loadBalancerMirrorKind, type LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import {
  isForbidden,
  isNotFound,
  type Gvr,
  type KubeObject,
  type Rest,
} from '../../runtime/rest.js';
import { listAll } from '../world.js';
import {
  withConnection,
  withOutput,
  withRest,
  type Connection,
  type Format,
  type Globals,
} from './flags.js';
import { asList, coloursFor, serialize, useColour } from './output.js';
import {
  KIND_NAMES,
  fleetView,
  kindOf,
  listView,
  mirrorView,
  releaseView,
  tenantView,
  type Kind,
} from './views.js';
import { watchView, type WatchTarget } from './watch.js';
import { fail } from './run.js';

export const GVR: Record<Kind, Gvr> = {
  fleet: gvrOf(fleetKind),
  release: gvrOf(releaseKind),
  tenant: gvrOf(tenantKind),
  mirror: gvrOf(loadBalancerMirrorKind),
};
const prodGvr = gvrOf(prodKind);
const routerGvr = gvrOf(routerKind);
const memberClusterGvr = gvrOf(memberClusterKind);

/** `get` of an object that may be absent: undefined instead of NotFound. */
async function maybe<T extends KubeObject>(
  rest: Rest,
  gvr: Gvr,
  namespace: string | undefined,
  name: string | undefined,
): Promise<T | undefined> {
  if (!name) return undefined;
  return rest.get<T>(gvr, namespace, name).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
}

interface Options extends Globals {
  output?: Exclude<Format, 'text'>;
  watch?: boolean;
}

/** One read of what the view shows: the object(s) for -o json|yaml, the lines otherwise. */
interface Read {
  objects: KubeObject | KubeObject[];
  render: (now: number) => string[];
}

async function read(
  c: Connection,
  kind: Kind,
  name: string | undefined,
  o: Options,
): Promise<Read> {
  const { rest, namespace } = c;
  const colours = coloursFor(useColour(process.stdout.isTTY, process.env));
  const view = (now: number) => ({ now, colours, wide: o.output === 'wide' });
  if (!name) {
    const items = await listAll<Fleet | Release | Tenant | LoadBalancerMirror>(
      rest,
      GVR[kind],
      o.allNamespaces ? undefined : namespace,
    );
    return {
      objects: items,
      render: (now) =>
        items.length
          ? listView(kind, items, { ...view(now), allNamespaces: o.allNamespaces })
          : [`No resources found${o.allNamespaces ? '' : ` in ${namespace} namespace`}.`],
    };
  }
  switch (kind) {
    case 'fleet': {
      const fleet = await rest.get<Fleet>(GVR.fleet, namespace, name);
      // Cluster states are a bonus: a user who may not list MemberClusters still gets the tree.
      const clusters = await listAll<MemberCluster>(rest, memberClusterGvr).catch(
        (err: unknown) => {
          if (isForbidden(err)) return [];
          throw err;
        },
      );
      return { objects: fleet, render: (now) => fleetView(fleet, clusters, view(now)) };
    }
    case 'release': {
      const r = await rest.get<Release>(GVR.release, namespace, name);
      return { objects: r, render: (now) => releaseView(r, view(now)) };
    }
    case 'tenant': {
      const t = await rest.get<Tenant>(GVR.tenant, namespace, name);
      const fleet = await maybe<Fleet>(rest, GVR.fleet, namespace, t.spec.fleet);
      const routerName = fleet?.spec.routing?.router;
      const [router, ...prods] = await Promise.all([
        maybe<Router>(rest, routerGvr, namespace, routerName),
        maybe<Prod>(rest, prodGvr, namespace, t.status?.prods?.primary),
        maybe<Prod>(rest, prodGvr, namespace, t.status?.prods?.secondary),
      ]);
      return {
        objects: t,
        render: (now) =>
          tenantView(
            t,
            prods.filter((p): p is Prod => !!p),
            router as Router | undefined,
            routerName,
            view(now),
          ),
      };
    }
    case 'mirror': {
      const m = await rest.get<LoadBalancerMirror>(GVR.mirror, namespace, name);
      return { objects: m, render: (now) => mirrorView(m, view(now)) };
    }
  }
}

function watchTargets(
  kind: Kind,
  name: string | undefined,
  c: Connection,
  o: Options,
): WatchTarget[] {
  const namespace = !name && o.allNamespaces ? undefined : c.namespace;
  const own = { gvr: GVR[kind], namespace, name };
  if (!name) return [own];
  if (kind === 'fleet') return [own, { gvr: memberClusterGvr }];
  if (kind === 'tenant') return [own, { gvr: prodGvr, namespace }, { gvr: routerGvr, namespace }];
  return [own];
}

function output(r: Read, o: Options): string[] {
  if (o.output === 'json' || o.output === 'yaml') {
    const doc = Array.isArray(r.objects) ? asList(r.objects) : r.objects;
    return [serialize(doc, o.output).trimEnd()];
  }
  return r.render(Date.now());
}

export function getCommand(): Command {
  const kinds = Object.values(KIND_NAMES)
    .map((n) => n[0])
    .join(', ');
  const cmd = new Command('get')
    .description(`show kachiku objects (${kinds}); with a NAME, as a tree`)
    .argument('<kind>', `one of ${kinds} (plural and short names work: fleets, fl, rel, tn, lbm)`)
    .argument('[name]', 'the object; without it, every object of the kind in the namespace')
    .addOption(
      new Option('-w, --watch', 'after printing, redraw on every change (in place on a terminal)'),
    )
    .addHelpText(
      'after',
      `
Examples:
  kubectl kachiku get fleet shop            failure domains → clusters → Prods, with fill
  kubectl kachiku get release shop-1.4.0 -w waves, Prods and gates, redrawn as they change
  kubectl kachiku get tenant acme -o yaml   the Tenant object
  kubectl kachiku get fleets -A             every Fleet in every namespace`,
    );
  withConnection(cmd, { allNamespaces: true });
  withOutput(cmd, ['text', 'wide', 'json', 'yaml']);
  return cmd.action(async (word: string, name: string | undefined, o: Options) => {
    const kind = kindOf(word);
    if (!kind)
      return fail(new Error(`the resource type "${word}" is not one kachiku shows: ${kinds}`));
    await withRest(o, async (c) => {
      const print = (lines: string[]) => process.stdout.write(`${lines.join('\n')}\n`);
      const first = await read(c, kind, name, o); // a missing object fails here, not in a frame
      if (!o.watch) return print(output(first, o));
      const ctl = new AbortController();
      process.once('SIGINT', () => ctl.abort());
      await watchView(
        c.rest,
        watchTargets(kind, name, c, o),
        async () => output(await read(c, kind, name, o), o),
        process.stdout,
        Boolean(process.stdout.isTTY) && !o.output,
        ctl.signal,
      );
    }).catch(fail);
  });
}
