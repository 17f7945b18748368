{{/* The name of the release's objects, and the prefix of its RBAC names: "kachiku" for release kachiku, as deploy/rbac names them. */}}
{{- define "kachiku.fullname" -}}
{{- if contains "kachiku" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kachiku" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kachiku.selectorLabels" -}}
app.kubernetes.io/name: kachiku
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kachiku.labels" -}}
{{ include "kachiku.selectorLabels" . }}
app.kubernetes.io/part-of: kachiku
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "kachiku.openstackSecret" -}}
{{- .Values.credentials.openstack.existingSecret | default (printf "%s-openstack" (include "kachiku.fullname" .)) -}}
{{- end -}}

{{- define "kachiku.awsSecret" -}}
{{- .Values.credentials.aws.existingSecret | default (printf "%s-aws" (include "kachiku.fullname" .)) -}}
{{- end -}}

{{- define "kachiku.hasOpenstack" -}}
{{- if or .Values.credentials.openstack.existingSecret .Values.credentials.openstack.cloudsYaml }}true{{ end -}}
{{- end -}}

{{- define "kachiku.hasAws" -}}
{{- if or .Values.credentials.aws.existingSecret .Values.credentials.aws.accessKeyId }}true{{ end -}}
{{- end -}}
