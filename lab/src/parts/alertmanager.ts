// The lab's Prometheus Alertmanager (Debian), for release gates: alerts are posted to it and
// read back through its v2 API. Clustering is off so it binds no port but its own.
import { writeFileSync } from 'node:fs';
import type { PartContext, PartHealth } from '../part.js';
import { freePort } from '../ports.js';
import { waitUntil } from '../proc.js';
import { ok } from '../http.js';

const PART = 'alertmanager';

export interface AlertmanagerState {
  url: string;
}

export async function startAlertmanager(lab: PartContext): Promise<AlertmanagerState> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = lab.path('alertmanager', 'alertmanager.yml');
  writeFileSync(
    config,
    ['route:', '  receiver: none', '  group_wait: 1s', 'receivers:', '  - name: none', ''].join(
      '\n',
    ),
  );
  const proc = lab.start({
    name: 'alertmanager',
    part: PART,
    // Overridable for hosts that install it elsewhere (and for the lab's own failure test).
    command: process.env.KACHIKU_LAB_ALERTMANAGER_BIN || 'prometheus-alertmanager',
    args: [
      `--config.file=${config}`,
      `--storage.path=${lab.path('alertmanager', 'data', '.keep').replace(/\/\.keep$/, '')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      `--web.external-url=${url}`,
    ],
  });
  await waitUntil(PART, 'alertmanager /-/ready', () => ok(`${url}/-/ready`), {
    proc,
    timeoutMs: 30_000,
  });
  return { url };
}

export async function alertmanagerHealth(s: AlertmanagerState): Promise<PartHealth[]> {
  return [
    { part: 'alertmanager', ok: await ok(`${s.url}/-/ready`).catch(() => false), detail: s.url },
  ];
}

export function alertmanagerEnv(s: AlertmanagerState): Record<string, string> {
  return { KACHIKU_ALERTMANAGER_URL: s.url };
}
