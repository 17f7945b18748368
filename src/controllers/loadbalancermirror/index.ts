// The LoadBalancerMirror controller as `kachiku controller` runs it, with its metrics.
import { Counter, Histogram } from 'prom-client';
import type { Manager } from '../../runtime/manager.js';
import { registerLoadBalancerMirror } from './reconciler.js';
import { mirrorNaming, realMirrorClouds } from './clouds.js';

export function registerMirrorController(mgr: Manager): void {
  const registers = [mgr.metrics.registry];
  const syncs = new Histogram({
    name: 'kachiku_mirror_sync_seconds',
    help: 'Duration of one LoadBalancerMirror sync, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const calls = new Counter({
    name: 'kachiku_cloud_api_calls_total',
    help: 'Calls to OpenStack and AWS APIs, by service, operation and outcome',
    labelNames: ['service', 'operation', 'outcome'] as const,
    registers,
  });
  const count = (service: string) => (operation: string, outcome: 'ok' | 'error') =>
    calls.inc({ service, operation, outcome });
  registerLoadBalancerMirror(mgr, {
    clouds: realMirrorClouds(mgr.rest, {
      octavia: count('openstack'),
      aws: (service, operation, outcome) => calls.inc({ service, operation, outcome }),
    }),
    naming: mirrorNaming,
    onSync: (outcome, seconds) => syncs.observe({ outcome }, seconds),
  });
}
