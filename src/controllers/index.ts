// Every controller kachiku runs. Each registers its informers and reconciler with the manager;
// `kachiku controller` runs them all. The kinds' controllers arrive with their issues.
import type { Manager } from '../runtime/manager.js';

export interface ControllerRegistration {
  name: string;
  register(mgr: Manager): void;
}

export const controllers: ControllerRegistration[] = [];
