// A watch survives a restart of its apiserver, and the reconciler sees the changes made while
// that apiserver was down (made through a second apiserver on the same etcd prefix).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Manager } from '../../src/runtime/manager.js';
import { Rest } from '../../src/runtime/rest.js';
import { newLogger } from '../../src/runtime/log.js';
import { startProcess, stopProcess } from '../../lab/src/proc.js';
import { freePort } from '../../lab/src/ports.js';
import { startLabProcess, stopLabProcess } from '../../lab/src/lab.js';
import { ok } from '../../lab/src/http.js';
import { labState } from '../support/lab.js';
import {
  TEST_CONTROLLER,
  controlPlaneConfig,
  ensureWidgetCrd,
  namespaceGvr,
  testNamespace,
  widget,
  widgetGvr,
  type Widget,
} from '../support/kube.js';
import { until } from '../support/wait.js';

test('a watch survives an apiserver restart and the reconciler sees what changed meanwhile', async () => {
  const lab = labState();
  const kube = lab.kube!;
  const cp = kube.clusters.find((c) => c.role === 'control-plane')!;
  const apiserverName = `${cp.name}-apiserver`;
  const original = lab.processes.find((p) => p.name === apiserverName)!;
  const config = controlPlaneConfig();
  const rest = new Rest(config);
  await ensureWidgetCrd(rest);
  const ns = await testNamespace(rest, 'restart');

  // A second apiserver for the same cluster: same etcd prefix and certificates, its own port.
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kachiku-apiserver-'));
  const args = original.spec.args.map((a) =>
    a.startsWith('--secure-port=')
      ? `--secure-port=${port}`
      : a.startsWith('--cert-dir=')
        ? `--cert-dir=${dir}`
        : a,
  );
  const second = startProcess(
    { ...original.spec, name: 'second-apiserver', args },
    join(dir, 'apiserver.log'),
  );
  const tls = { ca: kube.pki.caCert, cert: kube.pki.adminCert, key: kube.pki.adminKey };
  const secondConfig = new KubeConfig();
  secondConfig.loadFromString(
    JSON.stringify({
      clusters: [
        {
          name: 'second',
          cluster: {
            server: `https://127.0.0.1:${port}`,
            'certificate-authority': kube.pki.caCert,
          },
        },
      ],
      users: [
        {
          name: 'admin',
          user: { 'client-certificate': kube.pki.adminCert, 'client-key': kube.pki.adminKey },
        },
      ],
      contexts: [{ name: 'second', context: { cluster: 'second', user: 'admin' } }],
      'current-context': 'second',
    }),
  );
  const secondRest = new Rest(secondConfig);

  const seen = new Map<string, number | undefined>();
  const mgr = new Manager({
    name: TEST_CONTROLLER,
    config,
    namespace: ns,
    log: newLogger('silent'),
  });
  const widgets = mgr.informer<Widget>(widgetGvr);
  mgr
    .controller({
      name: 'restart',
      reconcile: async (req) => {
        seen.set(req.name, widgets.get(`${req.namespace}/${req.name}`)?.spec?.size);
      },
    })
    .for(widgets);
  const stop = new AbortController();
  const running = mgr.run(stop.signal);
  try {
    await until(
      'second apiserver ready',
      () => ok(`https://127.0.0.1:${port}/readyz`, tls).then((r) => r || undefined),
      90_000,
      250,
    );
    await rest.create(widgetGvr, widget(ns, 'before', 1));
    await until('the reconciler sees "before"', () =>
      seen.get('before') === 1 ? true : undefined,
    );

    await stopLabProcess(lab.dir, apiserverName);
    try {
      await secondRest.create(widgetGvr, widget(ns, 'during', 2));
      await secondRest.patch(widgetGvr, ns, 'before', { spec: { size: 5 } }, 'merge');
      await assert.rejects(rest.list(widgetGvr, ns), "the informer's apiserver is really down");
    } finally {
      await startLabProcess(lab.dir, apiserverName);
    }
    await until(
      'changes made while it was down',
      () => (seen.get('during') === 2 && seen.get('before') === 5 ? true : undefined),
      90_000,
    );
    await rest.create(widgetGvr, widget(ns, 'after', 3));
    await until('the watch goes on after the restart', () =>
      seen.get('after') === 3 ? true : undefined,
    );
    assert.deepEqual(
      widgets
        .list()
        .map((w) => w.metadata.name)
        .sort(),
      ['after', 'before', 'during'],
    );
  } finally {
    stop.abort();
    await running;
    await stopProcess(second);
    await rest.delete(namespaceGvr, undefined, ns).catch(() => {});
  }
});
