// For tests of the tenant router: the member clusters' load-balancer controller, as a cloud runs
// one. The lab's members run kwok, which starts no containers and has no cloud: a Service of type
// LoadBalancer that a Prod made would never get an address. This stands in for both the cloud's
// LB controller and the app's pods — and for nothing else: it watches the members' Services of
// kachiku's Prods, gives each LoadBalancer Service a loopback address 127.0.0.N, writes it into
// the Service's status.loadBalancer.ingress (so the Prod controller reports it in the Prod's
// status.endpoints, as it would an ELB's or Octavia's), and listens there on the Service's ports
// with an HTTP server answering the Prod's name (or what the test's `answer` says, asked at each
// request). A Service that goes (a Prod retired) takes its
// server with it. Stopping a server is how a test makes a Prod fail. The test closes it (close())
// in its own after(), once nothing it cleans up needs it.
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Rest } from '../../src/runtime/rest.js';
import { serviceGvr } from '../../src/runtime/core.js';
import { OWNER_ANNOTATION, PROD_LABEL } from '../../src/controllers/prod/render.js';
import type { Service } from '../../src/controllers/prod/observe.js';

export interface StandIn {
  prod: string;
  member: string;
  ip: string;
  port: number;
  /** Requests answered. */
  hits: number;
  running: boolean;
  /** Stops listening and drops every open connection: the Prod's pods are gone. */
  stop(): Promise<void>;
  /** Listens again on the same address. */
  start(): Promise<void>;
}

export class LoopbackLoadBalancers {
  /** By `<member>/<namespace>/<service>`. */
  private readonly services = new Map<string, { ip: string; standIns: StandIn[] }>();
  private nextIp: number;
  private stopped = false;
  private loop?: Promise<void>;
  /** Errors of the loop: a test checks there are none. */
  readonly errors: string[] = [];

  constructor(
    private readonly members: { name: string; rest: Rest }[],
    opts: { firstIp?: number; answer?: (prod: string) => string } = {},
  ) {
    this.nextIp = opts.firstIp ?? 10;
    this.answer = opts.answer ?? ((prod) => prod);
  }
  /** What a stand-in answers, asked at each request (default: the Prod's name). */
  private readonly answer: (prod: string) => string;

  /** The stand-ins of a Prod (one per port), live or stopped. */
  of(prod: string): StandIn[] {
    return [...this.services.values()].flatMap((s) => s.standIns.filter((x) => x.prod === prod));
  }

  all(): StandIn[] {
    return [...this.services.values()].flatMap((s) => s.standIns);
  }

  start(intervalMs = 200): void {
    this.loop = (async () => {
      while (!this.stopped) {
        for (const m of this.members) {
          try {
            await this.sync(m);
          } catch (err) {
            if (!this.stopped) this.errors.push(`${m.name}: ${(err as Error).message}`);
          }
        }
        await sleep(intervalMs);
      }
    })();
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.all(this.all().map((s) => s.stop()));
  }

  private async sync(m: { name: string; rest: Rest }): Promise<void> {
    const list = await m.rest.list<
      Service & { metadata: { annotations?: Record<string, string> } }
    >(serviceGvr, undefined, { labelSelector: PROD_LABEL });
    const seen = new Set<string>();
    for (const svc of list.items) {
      if (svc.spec?.type !== 'LoadBalancer' || svc.metadata.deletionTimestamp) continue;
      const key = `${m.name}/${svc.metadata.namespace}/${svc.metadata.name}`;
      seen.add(key);
      let entry = this.services.get(key);
      if (!entry) {
        const owner = svc.metadata.annotations?.[OWNER_ANNOTATION] ?? '';
        const prod = owner.slice(owner.indexOf('/') + 1);
        const ip = `127.0.0.${this.nextIp++}`;
        if (this.nextIp > 254) throw new Error('out of loopback addresses');
        const ports = (svc.spec?.ports ?? []).map((p) => p.port);
        const standIns = await Promise.all(
          ports.map((port) => standIn(prod, m.name, ip, port, this.answer)),
        );
        entry = { ip, standIns };
        this.services.set(key, entry);
      }
      if (svc.status?.loadBalancer?.ingress?.[0]?.ip !== entry.ip)
        await m.rest.patch(
          serviceGvr,
          svc.metadata.namespace,
          svc.metadata.name,
          { status: { loadBalancer: { ingress: [{ ip: entry.ip }] } } },
          'merge',
          'status',
        );
    }
    for (const [key, entry] of this.services)
      if (key.startsWith(`${m.name}/`) && !seen.has(key)) {
        this.services.delete(key);
        await Promise.all(entry.standIns.map((s) => s.stop()));
      }
  }
}

async function standIn(
  prod: string,
  member: string,
  ip: string,
  port: number,
  answer: (prod: string) => string,
): Promise<StandIn> {
  let server: Server | undefined;
  const s: StandIn = {
    prod,
    member,
    ip,
    port,
    hits: 0,
    running: false,
    async stop() {
      if (!server) return;
      const closing = server;
      server = undefined;
      s.running = false;
      closing.closeAllConnections();
      await new Promise<void>((ok) => closing.close(() => ok()));
    },
    async start() {
      if (server) return;
      const srv = createServer((_req, res) => {
        s.hits++;
        res.writeHead(200, { 'content-type': 'text/plain', 'x-prod': prod });
        res.end(answer(prod));
      });
      // HAProxy's health checks open and close connections all the time: no lingering.
      srv.keepAliveTimeout = 2000;
      await new Promise<void>((ok, fail) => {
        srv.once('error', fail);
        srv.listen(port, ip, () => (srv.off('error', fail), ok()));
      });
      server = srv;
      s.running = true;
    },
  };
  await s.start();
  return s;
}

/** A port free on the loopback addresses stand-ins will use (checked on a few of them). */
export async function freeLoopbackPort(ips: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const ok = await Promise.all(
      ips.map(
        (ip) =>
          new Promise<boolean>((resolve) => {
            const srv = createServer();
            srv.once('error', () => resolve(false));
            srv.listen(port, ip, () => srv.close(() => resolve(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no port free on the loopback addresses');
}
