// Whether tenants are routed to a Prod (pure): what makes a warmed-up Prod InService rather than
// Ready. The Router's status says it: the Prod has an Active backend slot there (a tenant's host
// points at it) and an instance serves that table; in DNS mode, the records written name it. Read from the Routers of the
// Prod's namespace, so the Prod controller needs neither the Fleet nor the placement.
import type { Router } from '../../api/router.js';

/** The Router (by name) whose served table routes tenants to `prod`, if any. */
export function routedBy(routers: readonly Router[], prod: string): string | undefined {
  return routers
    .filter((r) => routedProds(r).has(prod))
    .map((r) => r.metadata.name)
    .sort()[0];
}

/**
 * The Prods a Router's served table routes tenants to (none while no instance serves it). An
 * instance away keeps the last table it was given (its status keeps that version): a router
 * restarting does not take every Prod out of service for the second before it is reprogrammed.
 */
export function routedProds(r: Router | undefined): Set<string> {
  // DNS mode: the Prods its records in Route 53 name, once written.
  if (r?.spec.route53)
    return new Set(r.metadata.deletionTimestamp ? [] : (r.status?.dns?.prods ?? []));
  const version = r?.status?.table?.version;
  const served = (r?.status?.instances ?? []).some(
    (i) => version !== undefined && i.tableVersion === version,
  );
  if (!r || r.metadata.deletionTimestamp || !served) return new Set();
  return new Set((r.status?.slots ?? []).filter((s) => s.state === 'Active').map((s) => s.prod));
}
