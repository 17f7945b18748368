// The demo's releases: the Fleet gets a git source (the lab's git server) and a release strategy
// gated on the lab's Alertmanager; a tag pushed becomes a Release that rolls out in waves by user
// impact, printed as they go; then a second tag, an alert fired for a Prod of its second wave
// while it bakes, and the rollback — users moved to Prods still on the good version — shown by
// what the tenants' requests through HAProxy answer (the stand-ins answer with their Prod's name
// and the version it runs).
import { releaseView } from '../kubectl/views.js';
import { NO_COLOURS } from '../kubectl/output.js';
import { Rest, isAlreadyExists, type KubeObject } from '../../runtime/rest.js';
import { until } from '../../runtime/wait.js';
import { secretGvr } from '../../runtime/core.js';
import { gvrOf } from '../../api/kind.js';
import { grantSecretReader } from './support.js';
import { releaseKind, type Release } from '../../api/release.js';
import type { Fleet } from '../../api/fleet.js';
import { fleetGvr } from '../../controllers/fleet/context.js';
import { pushCommit } from '../../../lab/src/gitpush.js';
import type { LabState } from '../../../lab/src/state.js';

const releaseGvr = gvrOf(releaseKind);
/** The alert the demo fires: the gate's matchers select it for one Prod. */
const ALERT = 'ShopErrorRate';

export interface ReleaseDemo {
  rest: Rest;
  namespace: string;
  fleet: string;
  /** Per tenant, the version of the Prod that answered its requests through HAProxy. */
  versions(): Promise<Map<string, string>>;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function releaseDemo(
  state: LabState,
  say: (line: string) => void,
  d: ReleaseDemo,
): Promise<void> {
  const git = state.git;
  const alertmanager = state.alertmanager;
  if (!git || !alertmanager)
    throw new Error('the lab has no git server or Alertmanager: lab up again');
  const { rest, namespace, fleet: name } = d;
  const repo = `${git.url}/${name}.git`;
  const auth = { username: git.username, password: git.password };
  await rest
    .create(secretGvr, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-git`, namespace },
      stringData: { username: git.username, password: git.password },
    } as KubeObject)
    .catch((e: unknown) => {
      if (!isAlreadyExists(e)) throw e;
    });
  await grantSecretReader(rest, namespace);
  await pushCommit(repo, auth, { tags: ['1.0.0'], message: 'shop 1.0.0' });

  say(`\n— Releases: versions from git, rolled out in waves by user impact, gated on alerts —`);
  await rest.patch<Fleet>(
    fleetGvr,
    namespace,
    name,
    {
      spec: {
        source: {
          git: { url: repo, ref: { semver: '>=1.0.0' }, secretRef: `${name}-git` },
          interval: '2s',
        },
        release: {
          strategy: {
            bakeTime: '3s',
            gateInterval: '500ms',
            alertmanager: alertmanager.url,
            gates: [{ name: 'errors', matchers: [`alertname="${ALERT}"`, 'prod="{{prod}}"'] }],
            // Room on the good version for the last waves' tenants, should they roll back.
            standbyProds: 1,
          },
        },
      },
    },
    'merge',
  );
  say(
    `Fleet ${name}: spec.source = git ${repo} (semver >=1.0.0, polled every 2 s); releases bake 3 s, gated on ${ALERT} alerts for the Prod in Alertmanager (${alertmanager.url}); 1 standby Prod on the good version while a release runs`,
  );

  // 1. A tag → a Release → waves.
  let t = Date.now();
  await pushCommit(repo, auth, { tags: ['1.1.0'], message: 'shop 1.1.0' });
  say(`git push: tag 1.1.0`);
  const first = await follow(rest, namespace, `${name}-1.1.0`, t, say);
  const f = await rest.get<Fleet>(fleetGvr, namespace, name);
  say(
    `Release ${first.metadata.name}: ${first.status?.phase} ${secs(Date.now() - t)} after the push; Fleet ${name} spec.version = ${f.spec.version}`,
  );
  say(`  requests through HAProxy answered by: ${summary(await d.versions())}`);

  // 2. Another tag; an alert for a Prod of its second wave while that wave bakes.
  t = Date.now();
  await pushCommit(repo, auth, { tags: ['1.2.0'], message: 'shop 1.2.0' });
  say(`git push: tag 1.2.0`);
  let fired = '';
  let firedAt = 0;
  const second = await follow(rest, namespace, `${name}-1.2.0`, t, say, async (r) => {
    const wave = r.status?.waves?.[1];
    if (fired || wave?.state !== 'Baking') return;
    fired = wave.prods[0]!.name;
    firedAt = Date.now();
    await postAlert(alertmanager.url, { alertname: ALERT, prod: fired, severity: 'page' });
    say(`  Alertmanager: ${ALERT} fires for ${fired} (wave 2, baking)`);
  });
  const gate = second.status?.gates?.find((g) => g.result === 'Failed');
  const rb = second.status?.rollback;
  say(
    `Release ${second.metadata.name}: ${second.status?.phase} — gate ${gate?.gate ?? '?'} failed on ${(gate?.alerts ?? []).join(', ')}; ${rb?.tenantsMoved ?? 0} tenants moved to Prods on ${second.status?.fromVersion}${rb?.routedTime ? `, routed ${secs(Date.parse(rb.routedTime) - firedAt)} after the alert` : ''}`,
  );
  say(`  requests through HAProxy answered by: ${summary(await d.versions())}`);

  // What an operator sees of it: `kubectl kachiku get release` (the same program, as a plugin).
  say(`$ kubectl kachiku get release ${second.metadata.name} -n ${namespace}`);
  const now = await rest.get<Release>(releaseGvr, namespace, second.metadata.name);
  for (const line of releaseView(now, { now: Date.now(), colours: NO_COLOURS })) say(`  ${line}`);
}

/** Waits for the Release, prints its waves as they change, until it ends. */
async function follow(
  rest: Rest,
  namespace: string,
  name: string,
  since: number,
  say: (line: string) => void,
  onStatus?: (r: Release) => Promise<void>,
): Promise<Release> {
  const seen = new Map<number, string>();
  let planned = false;
  return until(
    `Release ${name} ended`,
    async () => {
      const r = await rest.get<Release>(releaseGvr, namespace, name).catch(() => undefined);
      if (!r) return undefined;
      const waves = r.status?.waves ?? [];
      if (!planned && waves.length) {
        planned = true;
        say(
          `Release ${name} (${secs(Date.now() - since)} after the push), from ${r.status?.fromVersion}: ${waves.length} waves — ${waves.map((w, i) => `${i + 1}. ${w.step}: ${w.prods.map((p) => p.name).join(', ')}`).join('; ')}`,
        );
      }
      waves.forEach((w, i) => {
        if (seen.get(i) === w.state || w.state === 'Pending') return;
        seen.set(i, w.state);
        say(
          `  ${secs(Date.now() - since)}  wave ${i + 1} (${w.step}) ${w.state}: ${w.prods.map((p) => `${p.name} (${p.reason})`).join(', ')}`,
        );
      });
      await onStatus?.(r);
      const ended = ['Succeeded', 'Failed', 'RolledBack', 'Aborted', 'Superseded'];
      return ended.includes(r.status?.phase ?? '') ? r : undefined;
    },
    120_000,
    200,
  ).catch(async (err: Error) => {
    // Say what was seen: the Release (if any) and the Fleet's source.
    const r = await rest.get<Release>(releaseGvr, namespace, name).catch(() => undefined);
    const f = await rest.get<Fleet>(fleetGvr, namespace, name.replace(/-[^-]*$/, ''));
    const source = f.status?.conditions?.find((c) => c.type === 'SourceReady');
    throw new Error(
      `${err.message}: ${r ? `Release status ${JSON.stringify(r.status)}` : 'no Release'}; Fleet source ${JSON.stringify(f.status?.source)}, SourceReady ${source?.status} ${source?.reason}: ${source?.message}`,
    );
  });
}

/** "1.1.0: 24 tenants" — the versions that answered, with their tenant counts. */
function summary(versions: Map<string, string>): string {
  const count = new Map<string, number>();
  for (const v of versions.values()) count.set(v, (count.get(v) ?? 0) + 1);
  return [...count]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([v, n]) => `${v}: ${n} tenants`)
    .join(', ');
}

async function postAlert(url: string, labels: Record<string, string>): Promise<void> {
  const res = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ labels, annotations: { summary: 'the demo fired it' } }]),
  });
  if (!res.ok) throw new Error(`Alertmanager: HTTP ${res.status} ${await res.text()}`);
}
