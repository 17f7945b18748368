// The dashboard page. Preact + htm: a 4 kB virtual DOM with hooks, templates as tagged strings (no
// JSX, so no compiler step beyond esbuild's bundling and tsc's type check), both small and
// well kept. The page only draws the view model the server pushes over server-sent events
// (src/cli/dashboard/view.ts computes it); it never polls and never reloads.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from 'htm/preact';
import type {
  ClusterView,
  MirrorView,
  Model,
  PlacementEntry,
  ProdView,
  ReleaseView,
  TenantView,
} from '../cli/dashboard/view.js';
import { searchTenants } from '../cli/dashboard/view.js';

const token = document.querySelector<HTMLMetaElement>('meta[name="kachiku-token"]')?.content ?? '';
const pages = ['map', 'releases', 'tenants', 'mirrors'] as const;
type Page = (typeof pages)[number];
const titles: Record<Page, string> = {
  map: 'Fleet map',
  releases: 'Releases',
  tenants: 'Tenants',
  mirrors: 'Mirrors',
};

function pageOf(path: string): Page {
  const p = path.split('/')[1] as Page;
  return pages.includes(p) ? p : 'map';
}

async function post(path: string): Promise<void> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'x-kachiku-token': token, 'content-type': 'application/json' },
    body: '{}',
  });
  if (!res.ok) throw new Error(((await res.json()) as { error: string }).error);
}

const ago = (iso?: string) => {
  if (!iso) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120
    ? `${s}s ago`
    : s < 7200
      ? `${Math.round(s / 60)}m ago`
      : `${Math.round(s / 3600)}h ago`;
};
const duration = (s?: number) =>
  s === undefined
    ? ''
    : s < 120
      ? `${s}s`
      : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;

function ProdTile({ p }: { p: ProdView }) {
  const flags = [p.held && 'held', p.avoided && 'avoided', p.retiring && 'retiring'].filter(
    Boolean,
  );
  return html`<div
    class=${`prod phase-${p.phase} v${p.versionIndex % 8}`}
    data-prod=${p.name}
    data-version=${p.version}
    data-phase=${p.phase}
    data-tenants=${p.tenants}
    title=${`${p.namespace}/${p.name} (${p.fleet}, ${p.role})`}
  >
    <div class="prod-name">
      ${p.name}${p.role === 'test' ? html` <span class="tag">test</span>` : ''}
    </div>
    <div class="prod-line">
      <span class="version">${p.version}${p.updatingTo ? ` → ${p.updatingTo}` : ''}</span>
      <span class="phase">${p.phase}</span>
    </div>
    <div class="prod-line">
      <span class="tenants">${p.tenants} tenant${p.tenants === 1 ? '' : 's'}</span>
      ${p.fill !== undefined ? html`<span>${p.used}/${p.capacity}</span>` : ''}
    </div>
    ${
      p.fill !== undefined
        ? html`<div class="fill"><div style=${`width:${Math.min(100, p.fill)}%`}></div></div>`
        : ''
    }
    ${flags.length ? html`<div class="flags">${flags.join(' · ')}</div>` : ''}
  </div>`;
}

function DrainPanel({ cluster, onDone }: { cluster: string; onDone: () => void }) {
  const [plan, setPlan] = useState<{ text: string } | { error: string } | undefined>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    fetch(`/api/plan/drain/${encodeURIComponent(cluster)}`)
      .then((r) => r.json())
      .then(setPlan, (e: Error) => setPlan({ error: e.message }));
  }, [cluster]);
  const drain = () => {
    setBusy(true);
    post(`/api/clusters/${encodeURIComponent(cluster)}/drain`).then(onDone, (e: Error) => {
      setBusy(false);
      setPlan({ error: e.message });
    });
  };
  return html`<div class="plan" data-plan=${cluster}>
    <h4>Plan: drain ${cluster}</h4>
    ${
      !plan
        ? html`<p>computing…</p>`
        : 'error' in plan
          ? html`<p class="error">${plan.error}</p>`
          : html`<pre>${plan.text}</pre>`
    }
    <button class="danger" disabled=${busy || !plan || 'error' in plan} onClick=${drain}>
      Drain ${cluster}
    </button>
    <button onClick=${onDone}>Cancel</button>
  </div>`;
}

function ClusterCard({ c }: { c: ClusterView }) {
  const [planning, setPlanning] = useState(false);
  const [error, setError] = useState('');
  const uncordon = () =>
    post(`/api/clusters/${encodeURIComponent(c.name)}/uncordon`).catch((e: Error) =>
      setError(e.message),
    );
  return html`<div class="cluster ready-${c.ready}" data-cluster=${c.name}>
    <div class="cluster-head">
      <strong>${c.name}</strong>
      <span class="muted">${c.provider}${c.region ? ` · ${c.region}` : ''}</span>
      ${c.ready !== 'True' ? html`<span class="tag bad">Ready ${c.ready}</span>` : ''}
      ${
        c.draining
          ? html`<span class="tag warn">draining</span>`
          : c.cordoned
            ? html`<span class="tag warn">cordoned</span>`
            : ''
      }
      <span class="actions">
        ${
          c.provider !== '?' && !c.draining
            ? html`<button onClick=${() => setPlanning(true)}>Drain…</button>`
            : ''
        }
        ${c.cordoned ? html`<button onClick=${uncordon}>Uncordon</button>` : ''}
      </span>
    </div>
    ${c.drains.map((d) => html`<div class="muted small">${d}</div>`)}
    ${error ? html`<p class="error">${error}</p>` : ''}
    ${planning ? html`<${DrainPanel} cluster=${c.name} onDone=${() => setPlanning(false)} />` : ''}
    <div class="prods">
      ${
        c.prods.length
          ? c.prods.map((p) => html`<${ProdTile} key=${`${p.namespace}/${p.name}`} p=${p} />`)
          : html`<span class="muted small">no Prods</span>`
      }
    </div>
  </div>`;
}

function MapPage({ m }: { m: Model }) {
  const { map } = m;
  return html`<section>
    <div class="fleets">
      ${map.fleets.map(
        (f) =>
          html`<div class="fleet-summary" data-fleet=${f.name}>
            <strong>${f.namespace}/${f.name}</strong> <span class="muted">${f.app}</span>
            <span>version ${f.version}</span>
            <span
              >${f.readyProds}${f.desiredProds !== undefined ? `/${f.desiredProds}` : ''} Prods
              ready</span
            >
            <span>${f.tenants.placed}/${f.tenants.total} tenants placed</span>
            ${f.tenants.unplaced ? html`<span class="tag bad">${f.tenants.unplaced} unplaced</span>` : ''}
            ${f.tenants.exposed ? html`<span class="tag warn">${f.tenants.exposed} exposed</span>` : ''}
            ${f.fill !== undefined ? html`<span>fill ${f.fill}%</span>` : ''}
            ${f.release ? html`<a href="/releases" class="tag info">release ${f.release}</a>` : ''}
          </div>`,
      )}
    </div>
    <div class="legend">
      versions: ${map.versions.map((v, i) => html`<span class=${`swatch v${i % 8}`}>${v}</span>`)}
    </div>
    <div class="domains">
      ${map.domains.map(
        (d) =>
          html`<div class="domain" data-domain=${d.name}>
            <h3>failure domain ${d.name}</h3>
            ${d.clusters.map((c) => html`<${ClusterCard} key=${c.name} c=${c} />`)}
          </div>`,
      )}
    </div>
    ${map.domains.length === 0 ? html`<p class="muted">No MemberClusters or Prods.</p>` : ''}
  </section>`;
}

function ReleaseCard({ r }: { r: ReleaseView }) {
  const [error, setError] = useState('');
  const [confirmAbort, setConfirmAbort] = useState(false);
  const act = (action: string) =>
    post(
      `/api/releases/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}/${action}`,
    ).then(
      () => setError(''),
      (e: Error) => setError(e.message),
    );
  return html`<div class=${`release phase-${r.phase}`} data-release=${r.name} data-phase=${r.phase}>
    <div class="release-head">
      <strong>${r.namespace}/${r.name}</strong>
      <span>Fleet ${r.fleet}: ${r.fromVersion ?? '?'} → ${r.version}</span>
      <span class="tag phase"
        >${r.phase}${r.paused && r.phase !== 'Paused' ? ' (pausing)' : ''}</span
      >
      ${r.elapsed !== undefined ? html`<span class="muted">${duration(r.elapsed)}</span>` : ''}
      <span class="actions">
        ${r.can.pause ? html`<button onClick=${() => act('pause')}>Pause</button>` : ''}
        ${r.can.resume ? html`<button onClick=${() => act('resume')}>Resume</button>` : ''}
        ${
          r.can.abort && !confirmAbort
            ? html`<button class="danger" onClick=${() => setConfirmAbort(true)}>Abort…</button>`
            : ''
        }
        ${
          confirmAbort && r.can.abort
            ? html`<span
                >roll back what was updated and stop for good?
                <button class="danger" onClick=${() => act('abort')}>Abort ${r.name}</button>
                <button onClick=${() => setConfirmAbort(false)}>Cancel</button></span
              >`
            : ''
        }
      </span>
    </div>
    ${r.message ? html`<div class="muted">${r.message}</div>` : ''}
    ${error ? html`<p class="error">${error}</p>` : ''}
    ${
      r.stoppedBy.length
        ? html`<div class="stopped">
            stopped by alerts: ${r.stoppedBy.map((a) => html`<span class="tag bad">${a}</span>`)}
          </div>`
        : ''
    }
    ${
      r.rollback
        ? html`<div class="muted">
            rollback: ${r.rollback.reason}; ${r.rollback.tenantsMoved ?? '?'} tenants moved,
            ${r.rollback.routed ? 'all routed to the good version' : 'routing…'}
          </div>`
        : ''
    }
    <div class="waves">
      ${r.waves.map(
        (w) =>
          html`<div
            class=${`wave state-${w.state}${w.current ? ' current' : ''}`}
            data-wave=${w.index}
            data-state=${w.state}
          >
            <div class="wave-head">
              <strong>wave ${w.index + 1}</strong> <span class="muted">${w.step}</span>
              <span class="tag">${w.state}</span>
            </div>
            ${w.prods.map(
              (p) =>
                html`<div class=${`wave-prod pstate-${p.state}`} title=${p.reason}>
                  <span>${p.name}</span>
                  <span class="muted">${`${p.tenants} tenants`}</span>
                  <span class="small">${p.state}</span>
                  ${p.message ? html`<div class="small muted">${p.message}</div>` : ''}
                </div>`,
            )}
            ${w.gates.map(
              (g) =>
                html`<div class=${`gate gate-${g.result}`}>
                  gate ${g.gate}: ${g.result}${g.alerts.length ? ` (${g.alerts.join(', ')})` : ''}
                </div>`,
            )}
          </div>`,
      )}
    </div>
  </div>`;
}

function ReleasesPage({ m }: { m: Model }) {
  return html`<section>
    ${m.releases.length === 0 ? html`<p class="muted">No Releases.</p>` : ''}
    ${m.releases.map((r) => html`<${ReleaseCard} key=${`${r.namespace}/${r.name}`} r=${r} />`)}
  </section>`;
}

// htm drops whitespace that spans a line break: text with spaces is built as one string.
const placement = (e: PlacementEntry) =>
  `${new Date(e.time).toLocaleTimeString()}: ${e.primary ?? '—'}${e.secondary ? ` + ${e.secondary}` : ''}`;

function TenantRow({ t }: { t: TenantView }) {
  const [open, setOpen] = useState(false);
  return html`<tbody data-tenant=${t.name}>
    <tr onClick=${() => setOpen(!open)} class="clickable">
      <td>${t.namespace}/${t.name}${t.test ? html` <span class="tag">test</span>` : ''}</td>
      <td>${t.hosts.join(', ')}</td>
      <td>${t.fleet}</td>
      <td>${t.redundancy}</td>
      <td class="primary">${t.primary ?? '—'}</td>
      <td class="secondary">${t.secondary ?? '—'}</td>
      <td>
        ${t.placed === 'True' ? 'placed' : html`<span class="tag bad">${t.placedMessage ?? t.placed}</span>`}
        <span class="muted small">${ago(t.placedSince)}</span>
      </td>
    </tr>
    ${
      open
        ? html`<tr class="history">
            <td colspan="7">
              ${
                t.history.length
                  ? t.history
                      .slice()
                      .reverse()
                      .map((e) => html`<div>${placement(e)}</div>`)
                  : html`<span class="muted">no placement seen</span>`
              }
            </td>
          </tr>`
        : ''
    }
  </tbody>`;
}

function TenantsPage({ m }: { m: Model }) {
  const [q, setQ] = useState('');
  const found = searchTenants(m.tenants, q);
  return html`<section>
    <input
      class="search"
      type="search"
      placeholder="search a host (e.g. shop.example.com) or a tenant"
      value=${q}
      onInput=${(e: Event) => setQ((e.target as HTMLInputElement).value)}
    />
    <p class="muted small">
      Click a tenant for its history: the placements this dashboard saw since it started.
      ${m.routers.map(
        (r) =>
          ` Router ${r.namespace}/${r.name}: ${r.hosts ?? '?'} hosts, ${r.prods ?? '?'} Prods${r.unrouted.length ? `, unrouted: ${r.unrouted.join('; ')}` : ''}.`,
      )}
    </p>
    <table class="tenants">
      <thead>
        <tr>
          <th>tenant</th>
          <th>hosts</th>
          <th>fleet</th>
          <th>redundancy</th>
          <th>serving now</th>
          <th>second Prod</th>
          <th>placed</th>
        </tr>
      </thead>
      ${found.map((t) => html`<${TenantRow} key=${`${t.namespace}/${t.name}`} t=${t} />`)}
    </table>
    ${found.length === 0 ? html`<p class="muted">No tenant matches.</p>` : ''}
  </section>`;
}

const failover = (f: { time: string; from: string; to: string; reason: string }) =>
  `last failover ${ago(f.time)}: ${f.from} → ${f.to} (${f.reason})`;

function MirrorCard({ x }: { x: MirrorView }) {
  const weight = (side: string) =>
    x.dns?.records.filter((r) => r.side === side).map((r) => `${r.name} ${r.weight}`) ?? [];
  const health = (side: string) => x.dns?.health.find((h) => h.side === side)?.state;
  const serving = (side: string) =>
    x.dns?.servingSide === side || x.dns?.servingSide === 'both' ? ' serving' : '';
  return html`<div class="mirror" data-mirror=${x.name}>
    <div class="release-head">
      <strong>${x.namespace}/${x.name}</strong>
      <span class=${`tag ${x.ready === 'True' ? 'ok' : 'bad'}`}>Ready ${x.ready}</span>
      ${x.readyMessage ? html`<span class="muted">${x.readyMessage}</span>` : ''}
      <span class="muted small">synced ${ago(x.lastSyncTime)}</span>
    </div>
    <div class="mirror-row">
      <div class=${`side${serving('octavia')}`}>
        <h4>Octavia</h4>
        <div class="small">${x.octavia.loadBalancerID}</div>
        ${x.octavia.address ? html`<div>${x.octavia.address}</div>` : ''}
        <div>${x.octavia.members ?? '?'} members</div>
        ${health('octavia') ? html`<div>health ${health('octavia')}</div>` : ''}
        ${weight('octavia').map((w) => html`<div>weight ${w}</div>`)}
      </div>
      <div class="arrow">↔</div>
      <div class=${`side${serving('nlb')}`}>
        <h4>NLB</h4>
        <div class="small">${x.nlb?.dnsName ?? 'not made yet'}</div>
        ${x.listeners.map(
          (l) => html`<div>${l.protocol} ${l.port}: ${l.targets ?? 0} targets</div>`,
        )}
        ${health('nlb') ? html`<div>health ${health('nlb')}</div>` : ''}
        ${weight('nlb').map((w) => html`<div>weight ${w}</div>`)}
      </div>
      <div class="arrow">↔</div>
      <div class="side">
        <h4>Route 53</h4>
        ${
          x.dns
            ? html`<div>mode ${x.dns.failoverMode}</div>
                <div>
                  serving: <strong>${x.dns.servingSide ?? '?'}</strong> ${ago(x.dns.servingSince)}
                </div>
                ${
                  x.dns.lastFailover
                    ? html`<div class="small">${failover(x.dns.lastFailover)}</div>`
                    : ''
                }`
            : html`<div class="muted">no DNS failover</div>`
        }
      </div>
    </div>
  </div>`;
}

function MirrorsPage({ m }: { m: Model }) {
  return html`<section>
    ${m.mirrors.length === 0 ? html`<p class="muted">No LoadBalancerMirrors.</p>` : ''}
    ${m.mirrors.map((x) => html`<${MirrorCard} key=${`${x.namespace}/${x.name}`} x=${x} />`)}
  </section>`;
}

function App() {
  const [m, setModel] = useState<Model | undefined>();
  const [live, setLive] = useState(false);
  const [page, setPage] = useState<Page>(pageOf(location.pathname));
  useEffect(() => {
    const events = new EventSource('/events');
    events.addEventListener('model', (e) => {
      setModel(JSON.parse((e as MessageEvent<string>).data) as Model);
      setLive(true);
    });
    events.onerror = () => setLive(false);
    const onPop = () => setPage(pageOf(location.pathname));
    addEventListener('popstate', onPop);
    return () => {
      events.close();
      removeEventListener('popstate', onPop);
    };
  }, []);
  const go = (p: Page) => (e: Event) => {
    e.preventDefault();
    history.pushState(null, '', `/${p}`);
    setPage(p);
  };
  const Body = { map: MapPage, releases: ReleasesPage, tenants: TenantsPage, mirrors: MirrorsPage }[
    page
  ];
  return html`<header>
      <span class="brand">kachiku</span>
      <nav>
        ${pages.map(
          (p) =>
            html`<a
              href=${`/${p}`}
              class=${p === page ? 'active' : ''}
              data-nav=${p}
              onClick=${go(p)}
              >${titles[p]}</a
            >`,
        )}
      </nav>
      <span class="muted small"
        >${m ? (m.namespace ? `namespace ${m.namespace}` : 'all namespaces') : ''}</span
      >
      <span class=${`live ${live ? 'on' : 'off'}`} data-live=${String(live)}
        >${live ? 'live' : 'reconnecting…'}</span
      >
    </header>
    ${m?.syncing.length ? html`<div class="syncing">${m.syncing.join(' · ')}</div>` : ''}
    <main data-page=${page}>
      <h2>${titles[page]}</h2>
      ${m ? html`<${Body} m=${m} />` : html`<p class="muted">connecting…</p>`}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app')!);
