// The controller's least-privilege RBAC, generated from one table so that a new kind or a new
// need is one line here (and a regenerate), never a hand-edited YAML.
import { allKinds } from './crds.js';
import { GROUP } from './kind.js';
import { generatedFile, type GeneratedFile } from './render.js';

export const CONTROLLER_NAMESPACE = 'kachiku-system';
export const SERVICE_ACCOUNT = 'kachiku';
export const CLUSTER_ROLE = 'kachiku-controller';
export const LEADER_ELECTION_ROLE = 'kachiku-leader-election';
export const SECRET_READER_ROLE = 'kachiku-secret-reader';
export const MEMBER_ROLE = 'kachiku-member';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const plurals = allKinds.map((k) => k.plural);

/**
 * Cluster-wide: what every controller reads and writes, and nothing more (the integration tests
 * run every controller under exactly these rules, as a ServiceAccount token).
 */
export const clusterRules: PolicyRule[] = [
  // Controllers never create their own primary objects; they read them, add and remove
  // finalizers (update) and write status (update).
  { apiGroups: [GROUP], resources: plurals, verbs: ['get', 'list', 'watch', 'update'] },
  { apiGroups: [GROUP], resources: plurals.map((p) => `${p}/status`), verbs: ['update'] },
  { apiGroups: [GROUP], resources: plurals.map((p) => `${p}/finalizers`), verbs: ['update'] },
  // The exceptions: a Fleet makes, adopts and removes its Prods, makes its TenantSlices (the
  // garbage collector takes them with it), and makes a Release when its source offers a new version.
  // A Release patches a Prod's hold and avoid annotations (a merge patch cannot conflict with the
  // Prod's status writes, so a rollback's annotations never wait out a 409).
  { apiGroups: [GROUP], resources: ['prods'], verbs: ['create', 'delete', 'patch'] },
  { apiGroups: [GROUP], resources: ['releases', 'tenantslices'], verbs: ['create'] },
  // A MirrorPolicy makes and removes its LoadBalancerMirrors.
  { apiGroups: [GROUP], resources: ['loadbalancermirrors'], verbs: ['create', 'delete'] },
  // One Lease per Octavia load balancer, in its mirror's namespace: the atomic claim that makes
  // one mirror its owner.
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    verbs: ['get', 'list', 'create', 'delete'],
  },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

/**
 * Secrets are not readable cluster-wide: this ClusterRole is bound with a RoleBinding in each
 * namespace whose Secrets kachiku needs — its own (member-cluster kubeconfigs), and each
 * namespace whose LoadBalancerMirrors name credentials Secrets.
 */
export const secretReaderRules: PolicyRule[] = [
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
];

/**
 * In each member cluster, for kachiku's identity there (a ServiceAccount token, or an EKS access
 * entry mapped to a group bound to this): probes read Nodes; Prods are namespaces with their
 * Deployments and Services applied server-side, watched, and deleted on retire. Apps whose
 * `spec.manifests` hold other kinds add rules for those.
 */
export const memberRules: PolicyRule[] = [
  { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] },
  {
    apiGroups: [''],
    resources: ['namespaces', 'services', 'configmaps'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  },
  {
    apiGroups: ['apps'],
    resources: ['deployments'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  },
  { apiGroups: ['metrics.k8s.io'], resources: ['pods'], verbs: ['get', 'list'] },
];

/** In the controller's namespace only: the leader-election Lease. */
export const namespaceRules: PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];

const labels = { 'app.kubernetes.io/part-of': 'kachiku' };
const subject = { kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: CONTROLLER_NAMESPACE };
const roleRef = (kind: string, name: string) => ({
  apiGroup: 'rbac.authorization.k8s.io',
  kind,
  name,
});
const rbacV1 = 'rbac.authorization.k8s.io/v1';

export const rbacObjects = () => ({
  serviceAccount: {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: SERVICE_ACCOUNT, namespace: CONTROLLER_NAMESPACE, labels },
  },
  clusterRole: {
    apiVersion: rbacV1,
    kind: 'ClusterRole',
    metadata: { name: CLUSTER_ROLE, labels },
    rules: clusterRules,
  },
  clusterRoleBinding: {
    apiVersion: rbacV1,
    kind: 'ClusterRoleBinding',
    metadata: { name: CLUSTER_ROLE, labels },
    roleRef: roleRef('ClusterRole', CLUSTER_ROLE),
    subjects: [subject],
  },
  secretReader: {
    apiVersion: rbacV1,
    kind: 'ClusterRole',
    metadata: { name: SECRET_READER_ROLE, labels },
    rules: secretReaderRules,
  },
  secretReaderBinding: {
    apiVersion: rbacV1,
    kind: 'RoleBinding',
    metadata: { name: SECRET_READER_ROLE, namespace: CONTROLLER_NAMESPACE, labels },
    roleRef: roleRef('ClusterRole', SECRET_READER_ROLE),
    subjects: [subject],
  },
  memberRole: {
    apiVersion: rbacV1,
    kind: 'ClusterRole',
    metadata: { name: MEMBER_ROLE, labels },
    rules: memberRules,
  },
  memberRoleBinding: {
    apiVersion: rbacV1,
    kind: 'ClusterRoleBinding',
    metadata: { name: MEMBER_ROLE, labels },
    roleRef: roleRef('ClusterRole', MEMBER_ROLE),
    subjects: [subject],
  },
  role: {
    apiVersion: rbacV1,
    kind: 'Role',
    metadata: { name: LEADER_ELECTION_ROLE, namespace: CONTROLLER_NAMESPACE, labels },
    rules: namespaceRules,
  },
  roleBinding: {
    apiVersion: rbacV1,
    kind: 'RoleBinding',
    metadata: { name: LEADER_ELECTION_ROLE, namespace: CONTROLLER_NAMESPACE, labels },
    roleRef: roleRef('Role', LEADER_ELECTION_ROLE),
    subjects: [subject],
  },
});

export function renderRbac(): GeneratedFile[] {
  const o = rbacObjects();
  return [
    generatedFile('deploy/rbac/service_account.yaml', [o.serviceAccount]),
    generatedFile('deploy/rbac/role.yaml', [o.clusterRole]),
    generatedFile('deploy/rbac/role_binding.yaml', [o.clusterRoleBinding]),
    generatedFile('deploy/rbac/leader_election_role.yaml', [o.role]),
    generatedFile('deploy/rbac/leader_election_role_binding.yaml', [o.roleBinding]),
    generatedFile('deploy/rbac/secret_reader_role.yaml', [o.secretReader]),
    generatedFile('deploy/rbac/secret_reader_role_binding.yaml', [o.secretReaderBinding]),
    // Applied in every member cluster, not in the control plane.
    generatedFile('deploy/rbac/member/service_account.yaml', [o.serviceAccount]),
    generatedFile('deploy/rbac/member/role.yaml', [o.memberRole]),
    generatedFile('deploy/rbac/member/role_binding.yaml', [o.memberRoleBinding]),
  ];
}

/** The RoleBinding an operator adds to let kachiku read the Secrets of another namespace. */
export function secretReaderBindingIn(namespace: string) {
  const b = rbacObjects().secretReaderBinding;
  return { ...b, metadata: { ...b.metadata, namespace } };
}
