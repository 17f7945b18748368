// What the parts of the Release controller's shell share: its informers, dependencies, the last
// gate check of each Release (in memory: a restart asks the gates again), and its metrics.
import type { Histogram } from 'prom-client';
import type { Manager } from '../../runtime/manager.js';
import type { Controller } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import type { Expectations } from '../../runtime/expectations.js';
import type { Dispatcher } from 'undici';
import { gvrOf } from '../../api/kind.js';
import { releaseKind, type Release } from '../../api/release.js';
import { fleetKind, type Fleet } from '../../api/fleet.js';
import { tenantKind, type Tenant } from '../../api/tenant.js';
import { prodKind, type Prod } from '../../api/prod.js';
import { routerKind, type Router } from '../../api/router.js';
import { memberClusterKind, type MemberCluster } from '../../api/membercluster.js';
import { tenantSliceKind, type TenantSlice } from '../../api/tenantslice.js';
import type { GateCheck, VersionCheck } from './plan.js';

export const releaseGvr = gvrOf(releaseKind);
export const fleetGvr = gvrOf(fleetKind);
export const tenantGvr = gvrOf(tenantKind);
export const prodGvr = gvrOf(prodKind);
export const routerGvr = gvrOf(routerKind);
export const memberClusterGvr = gvrOf(memberClusterKind);
export const tenantSliceGvr = gvrOf(tenantSliceKind);

export interface ReleaseDeps {
  /** The gates' Alertmanager when a Release's strategy names none (--alertmanager-url). */
  alertmanagerUrl?: string;
  /** How long a held Prod waits for the Router's status.held before it is updated anyway. */
  holdTimeoutMs?: number;
  /** Releases reconciled at once (default 4). */
  concurrency?: number;
  /** Alertmanager queries in flight per gate check (default 8). */
  gateConcurrency?: number;
  /** Bound of one Alertmanager query (default 5 s). */
  gateTimeoutMs?: number;
  dispatcher?: Dispatcher;
}

export interface ReleaseEnv {
  mgr: Manager;
  deps: ReleaseDeps;
  ctl: Controller;
  releases: Informer<Release>;
  fleets: Informer<Fleet>;
  tenants: Informer<Tenant>;
  prods: Informer<Prod>;
  routers: Informer<Router>;
  clusters: Informer<MemberCluster>;
  /** The Fleets' TenantSlices: where each tenant is now (before its status says so). */
  slices: Informer<TenantSlice>;
  expectations: Expectations;
  /** By Release key: its last gate check. */
  gateChecks: Map<string, GateCheck>;
  /** By Release key: the last lookup of its version in the Fleet's image source. */
  versionChecks: Map<string, VersionCheck>;
  metrics: { waveDuration: Histogram; rollback: Histogram };
}

/** Index names, all by the `<namespace>/<fleet>` key. */
export const RELEASES_BY_FLEET = 'release-fleet';
export const PRODS_BY_FLEET = 'release-prod-fleet';
export const TENANTS_BY_FLEET = 'release-tenant-fleet';
