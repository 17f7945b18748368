// The lab's Alertmanager: alerts posted through API v2 are read back with a label filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { labState } from '../support/lab.js';

const { url } = labState().alertmanager!;

test('post alerts and read them back through API v2 with a label filter', async () => {
  const run = randomUUID().slice(0, 8);
  const alert = (prod: string, severity: string) => ({
    labels: { alertname: 'HighErrorRate', run, prod, severity },
    annotations: { summary: `errors on ${prod}` },
    startsAt: new Date().toISOString(),
  });
  const posted = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([
      alert('p1', 'critical'),
      alert('p2', 'critical'),
      alert('p1', 'warning'),
    ]),
  });
  assert.equal(posted.status, 200);

  const query = new URLSearchParams({ active: 'true', silenced: 'false', inhibited: 'false' });
  query.append('filter', `run="${run}"`);
  query.append('filter', 'prod="p1"');
  query.append('filter', 'severity=~"crit.*"');
  const res = await fetch(`${url}/api/v2/alerts?${query}`);
  assert.equal(res.status, 200);
  const alerts = (await res.json()) as {
    labels: Record<string, string>;
    status: { state: string };
  }[];
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0]?.labels.prod, 'p1');
  assert.equal(alerts[0]?.labels.severity, 'critical');
  assert.equal(alerts[0]?.status.state, 'active');
});
