// The demo's DNS failover: the mirror gets Route 53 weighted records (90 % Octavia, 10 % NLB)
// with a health check on the Octavia side; then a maintenance shift sends everything to the
// NLB, and back.
import { CreateHostedZoneCommand, ListHostedZonesByNameCommand } from '@aws-sdk/client-route-53';
import type { Rest } from '../../runtime/rest.js';
import type { AwsClients } from '../../clouds/aws/clients.js';
import { recordsAt } from '../../clouds/aws/route53.js';
import type { DnsSpec, LoadBalancerMirror } from '../../api/loadbalancermirror.js';
import { mirrorGvr } from '../../controllers/loadbalancermirror/reconciler.js';
import { until } from '../../runtime/wait.js';

const NAMESPACE = 'demo';
const ZONE = 'demo.kachiku.test';
const RECORD = `www.${ZONE}`;

export async function dnsDemo(
  rest: Rest,
  aws: AwsClients,
  print: (line: string) => void,
): Promise<void> {
  print('\n— Defend: DNS failover in front of both sides —');
  const found = await aws.route53.send(new ListHostedZonesByNameCommand({ DNSName: ZONE }));
  let zoneId = found.HostedZones?.find((z) => z.Name === `${ZONE}.`)?.Id;
  if (!zoneId) {
    const zone = await aws.route53.send(
      new CreateHostedZoneCommand({ Name: ZONE, CallerReference: `kachiku-demo-${Date.now()}` }),
    );
    zoneId = zone.HostedZone!.Id!;
  }
  zoneId = zoneId.replace('/hostedzone/', '');
  const normal: DnsSpec = {
    hostedZone: { name: ZONE },
    recordNames: [RECORD],
    weights: { octavia: 90, nlb: 10 },
    healthChecks: { octavia: { type: 'TCP', port: 80, interval: 10, failureThreshold: 3 } },
  };
  const apply = async (dns: DnsSpec, what: string): Promise<LoadBalancerMirror> => {
    const m0 = await rest.patch<LoadBalancerMirror>(
      mirrorGvr,
      NAMESPACE,
      'web',
      [{ op: 'add', path: '/spec/dns', value: dns }],
      'json',
    );
    return until(
      what,
      async () => {
        const m = await rest.get<LoadBalancerMirror>(mirrorGvr, NAMESPACE, 'web');
        const c = m.status?.conditions?.find((c) => c.type === 'DNSSynced');
        return c?.status === 'True' && (c.observedGeneration ?? 0) >= (m0.metadata.generation ?? 0)
          ? m
          : undefined;
      },
      60_000,
      250,
    );
  };
  const show = async (m: LoadBalancerMirror) => {
    const records = await recordsAt(aws.route53, zoneId, RECORD);
    // The Octavia address first, then the NLB alias.
    records.sort((a, b) => Number(Boolean(a.record?.alias)) - Number(Boolean(b.record?.alias)));
    for (const r of records)
      if (r.record)
        print(
          `  ${RECORD} A weight ${String(r.record.weight).padStart(3)} → ${r.record.alias ? `alias ${r.record.alias.dnsName}` : (r.record.values ?? []).join(', ')}${r.record.healthCheckId ? ` (health check ${r.record.healthCheckId.slice(0, 8)}…)` : ''}`,
        );
    const dns = m.status?.dns;
    print(`  serving: ${dns?.servingSide} since ${dns?.servingSince}`);
  };

  let m = await apply(normal, 'the DNS records');
  print(
    `spec.dns applied: zone ${ZONE}, weights Octavia 90 / NLB 10, a TCP health check on the Octavia VIP:`,
  );
  await show(m);
  print(
    'Maintenance of the Octavia load balancer: failoverMode maintenance, Octavia 0 / NLB 100 …',
  );
  m = await apply(
    { ...normal, failoverMode: 'maintenance', weights: { octavia: 0, nlb: 100 } },
    'the maintenance shift',
  );
  await show(m);
  print('… and back:');
  m = await apply(normal, 'the weights back');
  await show(m);
}
