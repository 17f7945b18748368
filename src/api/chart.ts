// deploy/chart's generated parts, from the same tables as deploy/crds and deploy/rbac: the CRDs
// (in crds/, which helm installs before the templates and never upgrades or deletes) and the
// RBAC template, so that the chart grants exactly the rules the tests run kachiku under. The
// namespace becomes the release's, and the names' leading "kachiku" the release's full name:
// release "kachiku" gets exactly deploy/rbac's names, another release (a test's) its own.
import { renderCrds } from './crds.js';
import { rbacObjects } from './rbac.js';
import { GENERATED_HEADER, toYaml, type GeneratedFile } from './render.js';

export const CHART_DIR = 'deploy/chart';

// Quoted by toYaml, so the template is valid YAML before and after helm renders it.
const releaseNamespace = '{{ $.Release.Namespace }}';
const named = (name: string) => name.replace(/^kachiku/, '{{ include "kachiku.fullname" $ }}');
const helmLabels = {
  'app.kubernetes.io/part-of': 'kachiku',
  'app.kubernetes.io/managed-by': '{{ $.Release.Service }}',
  'app.kubernetes.io/instance': '{{ $.Release.Name }}',
};

interface Meta {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  subjects?: { name: string; namespace: string }[];
  roleRef?: { name: string };
}

/** The object with helm's labels, in namespace `ns` (when namespaced), bound to the release's ServiceAccount. */
function inNamespace<T extends Meta>(obj: T, ns = releaseNamespace): T {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      name: named(obj.metadata.name),
      ...(obj.metadata.namespace !== undefined && { namespace: ns }),
      labels: helmLabels,
    },
    ...(obj.roleRef && { roleRef: { ...obj.roleRef, name: named(obj.roleRef.name) } }),
    ...(obj.subjects && {
      subjects: obj.subjects.map((s) => ({
        ...s,
        name: named(s.name),
        namespace: releaseNamespace,
      })),
    }),
  };
}

function rbacTemplate(): string {
  const o = rbacObjects();
  const objects = [
    o.serviceAccount,
    o.clusterRole,
    o.clusterRoleBinding,
    o.role,
    o.roleBinding,
    o.secretReader,
    o.secretReaderBinding,
  ].map((obj) => inNamespace(obj as Meta));
  // The Secrets of other namespaces (a LoadBalancerMirror's or Router's credentials, member
  // kubeconfigs kept elsewhere): the same ClusterRole bound in each of rbac.secretNamespaces.
  const extra = inNamespace(o.secretReaderBinding as Meta, '{{ $ns }}');
  // The ServiceAccount's annotations from values (EKS's IAM roles for service accounts:
  // eks.amazonaws.com/role-arn gives the controller AWS credentials without a Secret).
  const [serviceAccount, ...rest] = objects.map(toYaml);
  const annotated = serviceAccount!.replace(
    /^metadata:\n/m,
    'metadata:\n{{- with $.Values.serviceAccount.annotations }}\n  annotations: {{- toYaml . | nindent 4 }}\n{{- end }}\n',
  );
  return (
    GENERATED_HEADER +
    [annotated, ...rest].join('---\n') +
    '{{- range $ns := .Values.rbac.secretNamespaces }}\n---\n' +
    toYaml(extra) +
    '{{- end }}\n'
  );
}

export const renderChart = (): GeneratedFile[] => [
  ...renderCrds().map((f) => ({
    filename: f.filename.replace(/^deploy\/crds\//, `${CHART_DIR}/crds/`),
    yaml: f.yaml,
  })),
  { filename: `${CHART_DIR}/templates/rbac.yaml`, yaml: rbacTemplate() },
];
