// The Release controller (issue 14): one version rolled over a Fleet's Prods in waves, gated on
// Alertmanager, rolled back by moving users. plan.ts is the pure core.
export { registerReleaseController, releaseGvr, type ReleaseDeps } from './reconciler.js';
