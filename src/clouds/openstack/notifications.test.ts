import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNotification, redactUrl } from './notifications.js';

test('a messagingv2 envelope: the event type and the load balancer', () => {
  const inner = {
    message_id: 'm1',
    publisher_id: 'octavia-worker',
    event_type: 'octavia.loadbalancer.create.end',
    priority: 'INFO',
    payload: { loadbalancer_id: 'lb1', project_id: 'p1', name: 'web' },
    timestamp: '2026-01-01 00:00:00.000000',
  };
  assert.deepEqual(
    parseNotification(
      JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) }),
    ),
    { eventType: 'octavia.loadbalancer.create.end', loadBalancerID: 'lb1', projectID: 'p1' },
  );
  // messaging v1: bare
  assert.equal(parseNotification(JSON.stringify(inner))?.loadBalancerID, 'lb1');
});

test('other events and garbage: nothing', () => {
  assert.equal(parseNotification('{'), undefined);
  assert.equal(
    parseNotification(JSON.stringify({ event_type: 'compute.instance.create.end', payload: {} })),
    undefined,
  );
});

test('the password never shows', () => {
  assert.equal(redactUrl('amqp://u:secret@h:5672/'), 'amqp://u:***@h:5672/');
});
