import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNotification, redactUrl } from './notifications.js';

const LB = '3f1c9a2e-7b4d-4e8a-9c1f-5d2e8b7a6c40';
const PROJECT = '9b2f4c1e7a3d4f6b8e0a1c2d3e4f5a6b';

test('a messagingv2 envelope: the event type and the load balancer', () => {
  const inner = {
    message_id: 'm1',
    publisher_id: 'octavia-worker',
    event_type: 'octavia.loadbalancer.create.end',
    priority: 'INFO',
    payload: { loadbalancer_id: LB, project_id: PROJECT, name: 'web' },
    timestamp: '2026-01-01 00:00:00.000000',
  };
  assert.deepEqual(
    parseNotification(
      JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) }),
    ),
    { eventType: 'octavia.loadbalancer.create.end', loadBalancerID: LB, projectID: PROJECT },
  );
  // messaging v1: bare
  assert.equal(parseNotification(JSON.stringify(inner))?.loadBalancerID, LB);
});

test('other events and garbage: nothing', () => {
  assert.equal(parseNotification('{'), undefined);
  assert.equal(
    parseNotification(JSON.stringify({ event_type: 'compute.instance.create.end', payload: {} })),
    undefined,
  );
});

test('an id that is not a UUID is no id: it goes into no URL path, the event lists', () => {
  const event = (id: unknown) =>
    parseNotification(
      JSON.stringify({ event_type: 'octavia.loadbalancer.update.end', payload: { id } }),
    );
  assert.equal(event(LB)?.loadBalancerID, LB);
  for (const bad of ['.', '..', '../listeners', 'lb1', `${LB}/x`, `${LB}?a=1`, 42, null])
    assert.equal(event(bad)?.loadBalancerID, undefined, String(bad));
  // Still an event: it makes the policy list.
  assert.equal(event('..')?.eventType, 'octavia.loadbalancer.update.end');
});

test('the password never shows', () => {
  assert.equal(redactUrl('amqp://u:secret@h:5672/'), 'amqp://u:***@h:5672/');
});
