// The shape of `<lab dir>/lab.json`: every address, kubeconfig and credential of a running lab.
import type { ProcRecord } from './proc.js';
import type { KubeState } from './parts/kube.js';
import type { OpenStackState } from './parts/openstack.js';
import type { AwsState } from './parts/aws.js';
import type { AlertmanagerState } from './parts/alertmanager.js';

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
}

/** One line of `lab status`. */
export interface PartHealth {
  part: string;
  ok: boolean;
  detail: string;
}
