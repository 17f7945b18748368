// The shell's hands: what a decision says to write, in an order that keeps make-before-break —
// Prods created, adopted and marked for scale-in first; then the TenantSlices (the assignment
// the routers read: every changed slice at once, ≤ SLICE_COUNT writes whatever the number of
// tenants moved); then the Tenants' statuses are handed to the status writer (for people;
// statuswriter.ts: not awaited, so that the next step is not held by them; bounded concurrency, each PUT on the status subresource with the
// resourceVersion it was computed from, 409 → re-read and write again); only then Prods
// retired (they host no one once those writes are in) and retired Prods removed. Every write is
// recorded as an expectation, so the next step waits until the caches show it.
import type { ReconcileContext } from '../../runtime/controller.js';
import { isAlreadyExists, isNotFound } from '../../runtime/rest.js';
import { update, updateStatus } from '../../runtime/objects.js';
import { keyOf } from '../../runtime/informer.js';
import type { Fleet } from '../../api/fleet.js';
import type { Prod } from '../../api/prod.js';
import type { Tenant, TenantStatus } from '../../api/tenant.js';
import { API_VERSION } from '../../api/kind.js';
import type { TenantSlice } from '../../api/tenantslice.js';
import { prodGvr, tenantGvr, tenantSliceGvr, type FleetEnv } from './context.js';
import { FLEET_LABEL, SCALE_IN_ANNOTATION, ownerReference } from './prods.js';
import type { SliceChange, TenantChange } from './tenants.js';
import type { Decision } from './plan.js';

/** Does the Prod and Tenant writes of a decision (the Fleet's status is written by status.ts). */
export async function act(
  env: FleetEnv,
  owner: string,
  fleet: Fleet | undefined,
  d: Decision,
  ctx: ReconcileContext,
): Promise<void> {
  const { rest } = env.mgr;
  const expect = env.expectations.expect.bind(env.expectations, owner);
  const prodNamed = (name: string, ns: string) => env.prods.get(`${ns}/${name}`);
  const ns = fleet?.metadata.namespace ?? '';
  const changeProd = async (name: string, what: string, mutate: (p: Prod) => boolean) => {
    const cached = prodNamed(name, ns);
    if (!cached) return;
    ctx.log.info({ prod: name }, what);
    const from = cached.metadata.resourceVersion ?? '';
    try {
      const after = await update(rest, prodGvr, cached, mutate);
      // Nothing written (the cached object already said so): nothing to wait for.
      if (after.metadata.resourceVersion === from) return;
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    expect('prods', keyOf(cached), { kind: 'updated', from });
  };

  for (const p of d.create) {
    ctx.log.info(
      { prod: p.metadata.name, cluster: p.spec.cluster, role: p.spec.role },
      'create Prod',
    );
    await rest.create(prodGvr, p).catch((err) => {
      // Made by an earlier reconcile whose write the cache had not shown yet.
      if (!isAlreadyExists(err)) throw err;
    });
    expect('prods', keyOf(p), { kind: 'created' });
  }
  if (fleet)
    for (const name of d.adopt)
      await changeProd(name, 'adopt Prod', (p) => {
        if (p.metadata.ownerReferences?.some((r) => r.controller)) return false;
        p.metadata.ownerReferences = [...(p.metadata.ownerReferences ?? []), ownerReference(fleet)];
        return true;
      });
  for (const s of d.scaleIn)
    await changeProd(s.name, 'scale in Prod', (p) => {
      if (p.metadata.annotations?.[SCALE_IN_ANNOTATION] !== undefined) return false;
      p.metadata.annotations = { ...p.metadata.annotations, [SCALE_IN_ANNOTATION]: s.why };
      return true;
    });

  if (fleet) await writeSlices(env, owner, fleet, d.slices, ctx);
  if (d.tenants.length) env.statusWriter.submit(owner, d.tenants);
  // A Prod is retired only once no Tenant's status names it either.
  if (d.retire.length || d.remove.length) await env.statusWriter.settled(owner);

  for (const r of d.retire)
    await changeProd(r.name, `retire Prod: ${r.why}`, (p) => {
      if (p.spec.retired) return false;
      p.spec.retired = true;
      return true;
    });
  for (const name of d.remove) {
    ctx.log.info({ prod: name }, 'delete retired Prod');
    await rest.delete(prodGvr, ns, name).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    expect('prods', `${ns}/${name}`, { kind: 'deleted' });
  }
}

async function writeSlices(
  env: FleetEnv,
  owner: string,
  fleet: Fleet,
  changes: readonly SliceChange[],
  ctx: ReconcileContext,
): Promise<void> {
  if (changes.length === 0) return;
  const { rest } = env.mgr;
  const ns = fleet.metadata.namespace ?? '';
  await Promise.all(
    changes.map(async (c) => {
      const key = `${ns}/${c.name}`;
      if (!c.existing) {
        const obj: TenantSlice = {
          apiVersion: API_VERSION,
          kind: 'TenantSlice',
          metadata: {
            name: c.name,
            namespace: ns,
            labels: { [FLEET_LABEL]: fleet.metadata.name },
            ownerReferences: [ownerReference(fleet)],
          },
          spec: { fleet: fleet.metadata.name, slice: c.slice, tenants: c.tenants },
        };
        try {
          await rest.create(tenantSliceGvr, obj);
          env.expectations.expect(owner, 'tenantslices', key, { kind: 'created' });
        } catch (err) {
          // Made meanwhile (a cache behind its own write): the next reconcile compares it.
          if (!isAlreadyExists(err)) throw err;
          env.ctl.enqueue({ namespace: ns, name: fleet.metadata.name });
        }
        return;
      }
      const from = c.existing.metadata.resourceVersion ?? '';
      const after = await update(rest, tenantSliceGvr, c.existing, (s) => {
        s.spec.tenants = c.tenants;
        return true;
      });
      if (after.metadata.resourceVersion !== from)
        env.expectations.expect(owner, 'tenantslices', key, { kind: 'updated', from });
    }),
  );
  ctx.log.debug({ slices: changes.length }, 'tenant slices written');
}

/** One Tenant's status write (the status writer's hands): 409 → re-read and write again. */
export async function writeTenantStatus(
  env: FleetEnv,
  { tenant, status }: TenantChange,
): Promise<void> {
  try {
    const from = tenant.metadata.resourceVersion ?? '';
    const after = await updateStatus<TenantStatus, Tenant>(
      env.mgr.rest,
      tenantGvr,
      tenant,
      () => status,
    );
    if (after.metadata.resourceVersion !== from) env.tenantWrites?.inc({ outcome: 'written' });
  } catch (err) {
    // Deleted meanwhile: nothing to tell it.
    if (isNotFound(err)) return;
    env.tenantWrites?.inc({ outcome: 'error' });
    throw err;
  }
}
