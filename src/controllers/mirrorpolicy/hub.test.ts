import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotificationHub } from './hub.js';
import type { NotificationOptions } from '../../clouds/openstack/notifications.js';

function fakeListen() {
  const started: NotificationOptions[] = [];
  let stopped = 0;
  const listen = (o: NotificationOptions) => {
    started.push(o);
    return { stop: async () => void stopped++ };
  };
  return { listen, started, stopped: () => stopped };
}

const target = (url: string) => ({ url, exchange: 'octavia', topic: 'notifications' });

test('one listener per broker, shared; an event wakes every policy on it; the last to leave stops it', () => {
  const f = fakeListen();
  const woken: string[][] = [];
  const hub = new NotificationHub(f.listen, (keys) => woken.push(keys));
  assert.deepEqual(hub.set('ns/a', target('amqp://x')), { connected: false });
  hub.set('ns/b', target('amqp://x'));
  hub.set('ns/c', target('amqp://y'));
  assert.equal(f.started.length, 2);
  f.started[0]!.onEvent({ eventType: 'octavia.loadbalancer.create.end', loadBalancerID: 'l' });
  assert.deepEqual(woken, [['ns/a', 'ns/b']]);
  f.started[0]!.onState?.(true);
  assert.deepEqual(hub.set('ns/a', target('amqp://x')), { connected: true });
  hub.set('ns/a', undefined);
  assert.equal(f.stopped(), 0);
  hub.set('ns/b', target('amqp://y'));
  assert.equal(f.stopped(), 1, 'x has no policy left');
  assert.equal(f.started.length, 2, 'y is shared, not started again');
});
