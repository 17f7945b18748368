// The shape of `<lab dir>/lab.json`: every address, kubeconfig and credential of a running lab.
// The parts export their state types and import nothing from here (part.ts is their leaf).
import type { ProcRecord } from './proc.js';
import type { KubeState } from './parts/kube.js';
import type { OpenStackState } from './parts/openstack.js';
import type { AwsState } from './parts/aws.js';
import type { AlertmanagerState } from './parts/alertmanager.js';
import type { RouterState } from './parts/haproxy.js';
import type { GitState } from './parts/git.js';
import type { RegistryState } from './parts/registry.js';

export interface LabState {
  version: 1;
  dir: string;
  startedAt: string;
  /** Set once every part is up; a state without it is a lab that did not finish starting. */
  readyAt?: string;
  processes: ProcRecord[];
  kube?: KubeState;
  openstack?: OpenStackState;
  aws?: AwsState;
  alertmanager?: AlertmanagerState;
  /** The tenant router (HAProxy). */
  router?: RouterState;
  git?: GitState;
  registry?: RegistryState;
}
