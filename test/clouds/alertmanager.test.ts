// clouds/alertmanager against the lab's Alertmanager: alerts posted through API v2 are found by
// a gate's matchers (=, !=, =~, !~, templated for a Prod); silenced and resolved ones are not;
// a bad matcher fails before anything is sent; a closed port is Unreachable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { labState } from '../support/lab.js';
import {
  activeAlerts,
  isSourceError,
  parseMatcher,
  type Matcher,
} from '../../src/clouds/alertmanager/index.js';
import { renderMatchers } from '../../src/fleet/gates.js';

const { url } = labState().alertmanager!;

const m = (text: string): Matcher => {
  const r = parseMatcher(text);
  if (typeof r === 'string') throw new Error(r);
  return r;
};

async function post(path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text ? JSON.parse(text) : undefined;
}

test('active alerts matching a gate are returned; silenced and resolved ones are not', async () => {
  const run = randomUUID().slice(0, 8);
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  const alert = (alertname: string, prod: string, severity: string, endsAt?: string) => ({
    labels: { alertname, run, prod, severity, cluster: 'onprem-a' },
    annotations: { summary: `${alertname} on ${prod}` },
    startsAt,
    ...(endsAt ? { endsAt } : {}),
  });
  await post('/api/v2/alerts', [
    alert('HighErrorRate', 'web-1', 'critical'),
    alert('HighErrorRate', 'web-2', 'critical'),
    alert('SlowResponses', 'web-1', 'warning'),
    alert('KnownIssue', 'web-1', 'critical'),
    alert('Recovered', 'web-1', 'critical', new Date(Date.now() - 1000).toISOString()),
  ]);
  const silence = (await post('/api/v2/silences', {
    matchers: [
      { name: 'alertname', value: 'KnownIssue', isRegex: false, isEqual: true },
      { name: 'run', value: run, isRegex: false, isEqual: true },
    ],
    startsAt: new Date().toISOString(),
    endsAt: new Date(Date.now() + 3600_000).toISOString(),
    createdBy: 'kachiku tests',
    comment: 'a known issue: the gate must not see it',
  })) as { silenceID: string };
  try {
    const names = async (...texts: string[]) =>
      (await activeAlerts(url, [m(`run="${run}"`), ...texts.map(m)]))
        .map((a) => `${a.name}@${a.labels.prod}`)
        .sort();

    const found = await activeAlerts(url, [
      m(`run="${run}"`),
      m('prod="web-1"'),
      m('severity=~"crit.*"'),
    ]);
    assert.deepEqual(
      found.map((a) => a.name),
      ['HighErrorRate'],
      'KnownIssue is silenced, Recovered has ended',
    );
    assert.equal(found[0]!.labels.cluster, 'onprem-a');
    assert.equal(Date.parse(found[0]!.startsAt), Date.parse(startsAt));
    assert.match(found[0]!.fingerprint, /^[0-9a-f]{16}$/);

    assert.deepEqual(await names('prod!="web-1"'), ['HighErrorRate@web-2']);
    assert.deepEqual(await names('severity!~"crit.*"'), ['SlowResponses@web-1']);
    assert.deepEqual(await names('prod=~"web-.*"', 'severity="critical"'), [
      'HighErrorRate@web-1',
      'HighErrorRate@web-2',
    ]);
    assert.deepEqual(await names('prod="web-3"'), []);

    // A gate's matchers, templated for the Prod of a wave.
    const rendered = renderMatchers(
      [m(`run="${run}"`), m('prod=~"{{ prod }}"'), m('cluster="{{cluster}}"')],
      { prod: 'web-2', cluster: 'onprem-a', app: 'shop', version: 'v2' },
    );
    assert.ok(rendered.ok);
    assert.deepEqual(
      (await activeAlerts(url, rendered.matchers)).map((a) => `${a.name}@${a.labels.prod}`),
      ['HighErrorRate@web-2'],
    );
  } finally {
    const res = await fetch(`${url}/api/v2/silence/${silence.silenceID}`, { method: 'DELETE' });
    assert.equal(res.status, 200);
  }
});

test('a bad matcher fails before anything is sent; a closed port is Unreachable', async () => {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const closed = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  await new Promise((ok) => s.close(ok));
  for (const bad of [
    { name: '1x', op: '=', value: 'a' },
    { name: 'x', op: '==', value: 'a' },
    { name: 'x', op: '=~', value: '(' },
    { name: 'x', op: '=~', value: '(?!a)' },
  ] as Matcher[]) {
    await assert.rejects(activeAlerts(closed, [bad]), (e) => isSourceError(e, 'Invalid'), bad.op);
  }
  await assert.rejects(activeAlerts(closed, [m('x="a"')]), (e) => isSourceError(e, 'Unreachable'));
  await assert.rejects(activeAlerts(`${url}/nothing-here`, []), (e) =>
    isSourceError(e, 'NotFound'),
  );
});
