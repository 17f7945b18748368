// Kubernetes' own resources that kachiku reads and writes, named once.
import type { Gvr } from './rest.js';

export const namespaceGvr: Gvr = {
  group: '',
  version: 'v1',
  resource: 'namespaces',
  namespaced: false,
};
export const secretGvr: Gvr = { group: '', version: 'v1', resource: 'secrets', namespaced: true };
export const serviceGvr: Gvr = { group: '', version: 'v1', resource: 'services', namespaced: true };
export const deploymentGvr: Gvr = {
  group: 'apps',
  version: 'v1',
  resource: 'deployments',
  namespaced: true,
};
