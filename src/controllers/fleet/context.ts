// What the parts of the Fleet controller's shell share: the resources it works on, its
// dependencies, its informers and the writes it waits to see in them.
import type { Counter } from 'prom-client';
import type { Manager } from '../../runtime/manager.js';
import type { Controller } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import type { Expectations } from '../../runtime/expectations.js';
import { gvrOf } from '../../api/kind.js';
import { fleetKind, type Fleet } from '../../api/fleet.js';
import { tenantKind, type Tenant } from '../../api/tenant.js';
import { prodKind, type Prod } from '../../api/prod.js';
import { memberClusterKind, type MemberCluster } from '../../api/membercluster.js';
import { releaseKind, type Release } from '../../api/release.js';
import { tenantSliceKind, type TenantSlice } from '../../api/tenantslice.js';
import type { Placer } from './plan.js';
import type { TenantStatusWriter } from './statuswriter.js';

export const fleetGvr = gvrOf(fleetKind);
export const tenantGvr = gvrOf(tenantKind);
export const prodGvr = gvrOf(prodKind);
export const memberClusterGvr = gvrOf(memberClusterKind);
export const releaseGvr = gvrOf(releaseKind);
export const tenantSliceGvr = gvrOf(tenantSliceKind);

export interface FleetDeps {
  /** The placement algorithms (src/fleet). */
  placer: Placer;
  /** Fleets reconciled at once (default 4). */
  concurrency?: number;
  /** Tenant status writes in flight per reconcile (default 16; the slices go all at once). */
  writeConcurrency?: number;
  /** How long a Fleet waits for the caches to show its last writes (default 10 s). */
  expectationTimeoutMs?: number;
}

export interface FleetEnv {
  mgr: Manager;
  deps: FleetDeps;
  ctl: Controller;
  fleets: Informer<Fleet>;
  tenants: Informer<Tenant>;
  prods: Informer<Prod>;
  clusters: Informer<MemberCluster>;
  /** Releases: while one of a Fleet is active, the Fleet keeps its standby Prods. */
  releases: Informer<Release>;
  /** Its TenantSlices: the assignment it wrote. */
  slices: Informer<TenantSlice>;
  expectations: Expectations;
  /** The Tenants' status writes, made beside the placement steps (statuswriter.ts). */
  statusWriter: TenantStatusWriter;
  /** Tenant status writes, by outcome (the point of writing only changed ones). */
  tenantWrites?: Counter<'outcome'>;
}

/** Index names: Tenants and Prods by the `<namespace>/<fleet>` key they belong to. */
export const BY_FLEET = 'fleet';
/** Index name: Prods by cluster. */
export const BY_CLUSTER = 'cluster';
