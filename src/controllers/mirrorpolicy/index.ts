// The MirrorPolicy controller as `kachiku controller` runs it, with its metrics.
import { Counter } from 'prom-client';
import type { Manager } from '../../runtime/manager.js';
import { registerMirrorPolicy } from './reconciler.js';
import { realPolicyClouds } from './clouds.js';

export function registerMirrorPolicyController(mgr: Manager): void {
  const notifications = new Counter({
    name: 'kachiku_octavia_notifications_total',
    help: 'Octavia notifications that woke a MirrorPolicy, by event type',
    labelNames: ['event'] as const,
    registers: [mgr.metrics.registry],
  });
  registerMirrorPolicy(mgr, {
    clouds: realPolicyClouds(mgr.rest),
    onNotification: (event) => notifications.inc({ event }),
  });
}
