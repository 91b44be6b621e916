{{- define "mdo.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* repository@digest when a digest is given, else repository:tag (appVersion by default). */}}
{{- define "mdo.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "mdo.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{/* The verbs the operator's code uses: the same list as manifests/rbac/cluster/cluster_role.yaml. */}}
{{- define "mdo.rules" -}}
- apiGroups: [mlops.healthpredict.io]
  resources: [modeldeployments]
  verbs: [get, list, watch, patch]
- apiGroups: [mlops.healthpredict.io]
  resources: [modeldeployments/status]
  verbs: [patch]
- apiGroups: ['']
  resources: [events]
  verbs: [create, patch]
- apiGroups: ['']
  resources: [secrets]
  verbs: [get]
- apiGroups: ['']
  resources: [pods]
  verbs: [list]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, patch, create, update, delete]
- apiGroups: ['']
  resources: [services]
  verbs: [get, create, update, patch, delete]
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [list]
{{- end -}}
