// kachiku.io/v1alpha1: one import for the kinds, their types and the condition vocabulary.
export * from './kind.js';
export * from './conditions.js';
export * from './loadbalancermirror.js';
export * from './membercluster.js';
export * from './prod.js';
export * from './fleet.js';
export * from './tenant.js';
export * from './router.js';
export * from './release.js';
export * from './tenantslice.js';
export * from './mirrorpolicy.js';
export { allKinds, crdFor, crdName, renderCrds, type CustomResourceDefinition } from './crds.js';
export { renderRbac, CONTROLLER_NAMESPACE, SERVICE_ACCOUNT } from './rbac.js';
