// The demo's tenant router: the lab's HAProxy as a Router, the Prods' pods stood in for, and a
// few requests per tenant through HAProxy's frontend, printed by the Prod that answered.
//
// kwok runs no containers and the lab's members have no cloud: the stand-in load balancers
// (lab/src/loadbalancers.ts) give each Prod's LoadBalancer Service a loopback address and answer
// there with the Prod's name — the only stand-in; HAProxy, its map and the requests are real.
import { request } from 'node:http';
import { Rest, isAlreadyExists } from '../../runtime/rest.js';
import { until } from '../../runtime/wait.js';
import type { Router } from '../../api/router.js';
import type { Tenant } from '../../api/tenant.js';
import { routerGvr } from '../../controllers/router/reconciler.js';
import { client } from '../../../lab/src/parts/kube.js';
import { LoopbackLoadBalancers, freeLoopbackPort } from '../../../lab/src/loadbalancers.js';
import type { LabState } from '../../../lab/src/state.js';
import { labHAProxy } from '../../../lab/src/router.js';

export const ROUTER = 'edge';
/** Requests sent per tenant each time. */
const REQUESTS = 3;

export interface DemoRouting {
  /** The port the app's web component listens on (where the stand-ins answer). */
  port: number;
  /** Creates the Router on the lab's HAProxy. */
  createRouter(rest: Rest, namespace: string): Promise<void>;
  /** Sends REQUESTS per tenant through HAProxy; prints who answered, by Prod. */
  show(rest: Rest, namespace: string, tenants: () => Promise<Tenant[]>): Promise<void>;
  /** One request per tenant through HAProxy: tenant → the stand-in's answer (or the error). */
  ask(tenants: readonly Tenant[]): Promise<Map<string, string>>;
  stop(): Promise<void>;
}

export async function startRouting(
  state: LabState,
  say: (line: string) => void,
  /** What a stand-in answers (default: its Prod's name); asked at each request. */
  answerOf?: (prod: string) => string,
): Promise<DemoRouting> {
  const haproxy = state.router;
  if (!haproxy) throw new Error('the lab has no tenant router (HAProxy): lab up again');
  const members = state.kube!.clusters.filter((c) => c.role === 'member');
  const lbs = new LoopbackLoadBalancers(
    members.map((m) => ({ name: m.name, rest: new Rest(client(m)) })),
    answerOf ? { answer: answerOf } : {},
  );
  const port = await freeLoopbackPort(
    members.map((_, i) => `127.0.0.${10 + i}`).concat('127.0.0.1'),
  );
  lbs.start();
  return {
    port,
    async createRouter(rest, namespace) {
      await rest
        .create<Router>(routerGvr, {
          apiVersion: 'kachiku.io/v1alpha1',
          kind: 'Router',
          metadata: { name: ROUTER, namespace },
          spec: {
            haproxy: labHAProxy(haproxy),
          },
        })
        .catch((e: unknown) => {
          if (!isAlreadyExists(e)) throw e;
        });
    },
    async show(rest, namespace, tenants) {
      if (lbs.errors.length) throw new Error(`stand-in load balancers: ${lbs.errors.join('; ')}`);
      // Once the Router has published the placement; past the wait, the demo prints what it
      // gets all the same (a wrong answer shows).
      const sweep = async () => {
        const ts = await tenants();
        const answers = await Promise.all(
          ts.map(async (t) => {
            const got: string[] = [];
            for (let i = 0; i < REQUESTS; i++)
              got.push(await answer(haproxy.url, t.spec.hosts![0]!));
            return { tenant: t, got };
          }),
        );
        return answers;
      };
      let last = await sweep();
      await until(
        'every tenant answered by its primary',
        async () => {
          const r = await rest.get<Router>(routerGvr, namespace, ROUTER);
          if (!r.status?.instances?.every((i) => i.tableVersion === r.status?.table?.version))
            return undefined;
          last = await sweep();
          return last.every(({ tenant, got }) =>
            got.every((p) => p === tenant.status?.prods?.primary),
          )
            ? true
            : undefined;
        },
        20_000,
        250,
      ).catch(() => undefined);
      const byProd = new Map<string, string[]>();
      const failed: string[] = [];
      for (const { tenant, got } of last)
        for (const p of new Set(got))
          if (p.startsWith('(')) failed.push(`${tenant.metadata.name} ${p}`);
          else byProd.set(p, [...(byProd.get(p) ?? []), tenant.metadata.name]);
      say(
        `Through HAProxy (${haproxy.url}), ${REQUESTS} requests per tenant with its Host header — answered by (loopback stand-ins for the app's pods, answering with their Prod's name; kwok runs none):`,
      );
      for (const [p, names] of [...byProd].sort(([a], [b]) => (a < b ? -1 : 1)))
        say(`  ${p} answered ${names.sort().join(' ')}`);
      if (failed.length) say(`  no answer: ${failed.sort().join(', ')}`);
    },
    async ask(tenants) {
      const got = await Promise.all(
        tenants.map(
          async (t) =>
            [t.metadata.name, await answer(haproxy.url, t.spec.hosts![0]!, 'body')] as const,
        ),
      );
      return new Map(got);
    },
    async stop() {
      await lbs.close();
    },
  };
}

/** The Prod that answered a GET through the router as `host` (or its answer), or what went wrong. */
function answer(url: string, host: string, what: 'prod' | 'body' = 'prod'): Promise<string> {
  return new Promise((resolve) => {
    const req = request(url, { headers: { host }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve(
          res.statusCode === 200 && res.headers['x-prod']
            ? what === 'body'
              ? body
              : String(res.headers['x-prod'])
            : `(HTTP ${res.statusCode})`,
        ),
      );
    });
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', (e) => resolve(`(${e.message})`));
    req.end();
  });
}
