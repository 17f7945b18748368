// Every controller kachiku runs. Each registers its informers and reconciler with the manager;
// `kachiku controller` runs them all.
import type { Manager } from '../runtime/manager.js';
import { registerMirrorController } from './loadbalancermirror/index.js';

export interface ControllerRegistration {
  name: string;
  register(mgr: Manager): void;
}

export const controllers: ControllerRegistration[] = [
  { name: 'loadbalancermirror', register: registerMirrorController },
];
