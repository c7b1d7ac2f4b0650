{{/* Chart name. */}}
{{- define "userhub.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release name, plus the chart name unless the release already contains it. */}}
{{- define "userhub.fullname" -}}
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

{{/* Name and version as used by the chart label. */}}
{{- define "userhub.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels of the release (all components). */}}
{{- define "userhub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "userhub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Common labels. */}}
{{- define "userhub.labels" -}}
helm.sh/chart: {{ include "userhub.chart" . }}
{{ include "userhub.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: userhub
userhub.io/environment: {{ .Values.environment }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "api"). */}}
{{- define "userhub.componentSelectorLabels" -}}
{{ include "userhub.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of one component. */}}
{{- define "userhub.componentLabels" -}}
{{ include "userhub.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "userhub.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "userhub.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: repository@digest when a digest is set, else repository:tag. */}}
{{- define "userhub.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the application secrets. */}}
{{- define "userhub.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- printf "%s-secrets" (include "userhub.fullname" .) }}
{{- end }}
{{- end }}

{{/*
The api's memory, in MiB, in one place: 64 MiB per argon2id permit
(USERHUB_HASH_CONCURRENCY) plus the rest of the process.
*/}}
{{- define "userhub.apiMemoryMi" -}}
{{- add (mul 64 (int .Values.api.hashConcurrency)) (int .Values.api.memoryHeadroomMi) }}
{{- end }}

{{/* Pod-level security context: Pod Security Standard "restricted". */}}
{{- define "userhub.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security context. */}}
{{- define "userhub.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* terminationGracePeriodSeconds: preStop sleep + readiness delay + drain + margin. */}}
{{- define "userhub.terminationGrace" -}}
{{- add (int .Values.shutdown.preStopSeconds) (int .Values.shutdown.delaySeconds) (int .Values.shutdown.drainSeconds) 5 }}
{{- end }}

{{/* Probes on the admin listener. */}}
{{- define "userhub.probes" -}}
startupProbe:
  httpGet:
    path: /livez
    port: metrics
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
  timeoutSeconds: 2
livenessProbe:
  httpGet:
    path: /livez
    port: metrics
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
  timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
readinessProbe:
  httpGet:
    path: /readyz
    port: metrics
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
  timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
{{- if gt (int .Values.shutdown.preStopSeconds) 0 }}
lifecycle:
  preStop:
    sleep:
      seconds: {{ .Values.shutdown.preStopSeconds }}
{{- end }}
{{- end }}

{{/* Topology spread across zones and nodes for one component. */}}
{{- define "userhub.topologySpread" -}}
{{- if .root.Values.topologySpread.enabled }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: {{ .root.Values.topologySpread.zoneWhenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "userhub.componentSelectorLabels" . | nindent 8 }}
    matchLabelKeys: [pod-template-hash]
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "userhub.componentSelectorLabels" . | nindent 8 }}
    matchLabelKeys: [pod-template-hash]
{{- end }}
{{- end }}

{{/* Scheduling fields shared by api and web. */}}
{{- define "userhub.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* CPU quantity ("250m", "1", "1.5") in millicores. */}}
{{- define "userhub.cpuMilli" -}}
{{- $q := toString . }}
{{- if hasSuffix "m" $q }}
{{- trimSuffix "m" $q | int }}
{{- else }}
{{- mulf (float64 $q) 1000 | int }}
{{- end }}
{{- end }}

{{/* Memory quantity ("64Mi", "1Gi") in MiB. */}}
{{- define "userhub.memoryMi" -}}
{{- $q := toString . }}
{{- if hasSuffix "Gi" $q }}
{{- mul (trimSuffix "Gi" $q | int) 1024 }}
{{- else }}
{{- trimSuffix "Mi" $q | int }}
{{- end }}
{{- end }}

{{/* Fail unless every limit is at least its request: (dict "name" "web" "resources" .Values.web.resources). */}}
{{- define "userhub.checkResources" -}}
{{- $r := .resources }}
{{- if lt (include "userhub.cpuMilli" $r.limits.cpu | int) (include "userhub.cpuMilli" $r.requests.cpu | int) }}
{{- fail (printf "%s.resources: limits.cpu (%v) is below requests.cpu (%v)" .name $r.limits.cpu $r.requests.cpu) }}
{{- end }}
{{- if lt (include "userhub.memoryMi" $r.limits.memory | int) (include "userhub.memoryMi" $r.requests.memory | int) }}
{{- fail (printf "%s.resources: limits.memory (%v) is below requests.memory (%v)" .name $r.limits.memory $r.requests.memory) }}
{{- end }}
{{- end }}

{{/*
ENVIRONMENT for the service. `dev` would switch Userhub to development mode
(generated keys, private API, text logs), so the dev cluster runs as a
deployed environment named `cluster-dev`.
*/}}
{{- define "userhub.serviceEnvironment" -}}
{{- if eq .Values.environment "prod" }}production{{ else if eq .Values.environment "staging" }}staging{{ else }}cluster-dev{{ end }}
{{- end }}

{{/* Environment shared by every Userhub container: secrets by reference, never by value. */}}
{{- define "userhub.secretEnv" -}}
- name: SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "userhub.secretName" . }}
      key: SECRET_KEY
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.passwordSecret }}
      key: {{ .Values.database.passwordKey }}
{{- end }}

{{/* Pull policy (dev sets Always: its tag moves; a digest never changes). */}}
{{- define "userhub.pullPolicy" -}}
{{- .Values.image.pullPolicy }}
{{- end }}

{{/* checkov skips, each with its reason (rendered into the workload's annotations). */}}
{{- define "userhub.checkovSkips" -}}
checkov.io/skip1: CKV_K8S_35=Userhub reads its secrets from environment variables only (docs/configuration.md); they are secretKeyRef references filled by External Secrets, never literal values
{{- if not .Values.image.digest }}
checkov.io/skip2: CKV_K8S_43=dev runs the moving main tag on purpose (pulled Always); staging and prod are digest-pinned by values.schema.json and the digest_pinned policy
{{- end }}
{{- end }}
