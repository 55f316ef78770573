{{/* Names and labels shared by every template. */}}

{{- define "slo-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "slo-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "slo-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slo-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "slo-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "slo-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: slo-operator
{{- end }}

{{- define "slo-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "slo-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "slo-operator.webhookServiceName" -}}
{{- printf "%s-webhook" (include "slo-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "slo-operator.uiServiceName" -}}
{{- printf "%s-ui" (include "slo-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "slo-operator.metricsServiceName" -}}
{{- printf "%s-metrics" (include "slo-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name kopf manages the webhook configurations under (kube/operator.py WEBHOOK_CONFIGURATION).
It is fixed in the operator, so one release per cluster can run the webhook.
*/}}
{{- define "slo-operator.webhookConfigurationName" -}}
slo-operator.slo.dev
{{- end }}

{{- define "slo-operator.configDir" -}}
/etc/slo-operator/config
{{- end }}

{{- define "slo-operator.backendSecretsDir" -}}
/etc/slo-operator/backends
{{- end }}

{{/* The Secret holding the webhook certificate every replica serves (the first creates it). */}}
{{- define "slo-operator.webhookCertSecret" -}}
{{ include "slo-operator.fullname" . }}-webhook-tls
{{- end }}

{{/* The kopf peering object the replicas share (kube/peering.py). */}}
{{- define "slo-operator.peeringName" -}}
{{ include "slo-operator.fullname" . }}
{{- end }}

{{- define "slo-operator.webhookCertDir" -}}
/var/run/slo-operator/webhook-certs
{{- end }}

{{/* Whether any backend reads a Secret (then they are mounted in one projected volume). */}}
{{- define "slo-operator.backendsUseSecrets" -}}
{{- range .Values.backends }}
{{- if or .bearerTokenSecret .basicAuthSecret .caSecret }}true{{ end }}
{{- end }}
{{- end }}

{{/*
The rules the operator needs in every namespace it watches (a Role per namespace, or the
ClusterRole in cluster-wide mode). Each verb is one the code uses; README.md says which.
*/}}
{{- define "slo-operator.namespacedRules" -}}
- apiGroups: [slo.dev]
  resources: [servicelevelobjectives, servicelevelagreements]
  verbs: [list, watch, patch]
- apiGroups: [slo.dev]
  resources: [servicelevelobjectives/status, servicelevelagreements/status]
  verbs: [patch]
{{- if eq .Values.ruleOutput "PrometheusRule" }}
- apiGroups: [monitoring.coreos.com]
  resources: [prometheusrules]
  verbs: [get, create, update]
{{- else }}
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, create, update]
{{- end }}
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- if .Values.policyWebhookHosts }}
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
{{- end }}
{{- end }}

{{/*
kopf's peering (kube/peering.py): a ClusterKopfPeering cluster-wide, a KopfPeering in each
watched namespace otherwise. kopf lists and watches every peering object of its scope (no name
selector), patches its keep-alive into ours; the operator creates ours when absent and reads it.
*/}}
{{- define "slo-operator.peeringRules" -}}
{{- $plural := ternary "kopfpeerings" "clusterkopfpeerings" (not (empty .Values.watchNamespaces)) }}
- apiGroups: [kopf.dev]
  resources: [{{ $plural }}]
  verbs: [list, watch, create]
- apiGroups: [kopf.dev]
  resources: [{{ $plural }}]
  resourceNames: [{{ include "slo-operator.peeringName" . }}]
  verbs: [get, patch]
{{- end }}

{{/* Cluster-scoped rules, needed in both modes. */}}
{{- define "slo-operator.clusterRules" -}}
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
{{- if .Values.watchNamespaces }}
- apiGroups: [""]
  resources: [namespaces]
  verbs: [list, watch]
{{- end }}
{{- if .Values.webhook.enabled }}
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations, mutatingwebhookconfigurations]
  verbs: [create]
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations, mutatingwebhookconfigurations]
  resourceNames: [{{ include "slo-operator.webhookConfigurationName" . }}]
  verbs: [patch]
{{- end }}
{{- end }}
