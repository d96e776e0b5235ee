{{/*
Names. Kubernetes names are at most 63 characters; component suffixes ("-collector",
"-alert-channels", …) are added to a prefix of at most 40.
*/}}
{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vigil.collector.fullname" -}}
{{- printf "%s-collector" (include "vigil.fullname" .) -}}
{{- end -}}

{{- define "vigil.agent.fullname" -}}
{{- printf "%s-agent" (include "vigil.fullname" .) -}}
{{- end -}}

{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vigil.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every resource. */}}
{{- define "vigil.labels" -}}
helm.sh/chart: {{ include "vigil.chart" . }}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vigil
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "collector"). */}}
{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "vigil.componentLabels" -}}
{{ include "vigil.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* "repository:tag", the tag defaulting to the chart's appVersion: (dict "root" $ "image" .Values.collector.image). */}}
{{- define "vigil.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{- define "vigil.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "vigil.embedded" -}}
{{- if eq .Values.storage.mode "embedded" -}}true{{- end -}}
{{- end -}}

{{/* The collector's in-cluster URL (agents default to it). */}}
{{- define "vigil.collector.url" -}}
{{- printf "http://%s.%s.svc:%d" (include "vigil.collector.fullname" .) .Release.Namespace (int .Values.collector.service.port) -}}
{{- end -}}

{{/* VIGIL_EXTERNAL_URL: the value, else the first Ingress host. */}}
{{- define "vigil.collector.externalUrl" -}}
{{- if .Values.collector.externalUrl -}}
{{- .Values.collector.externalUrl -}}
{{- else if .Values.collector.ingress.enabled -}}
{{- $host := (first .Values.collector.ingress.hosts).host -}}
{{- $tls := false -}}
{{- range .Values.collector.ingress.tls }}{{ if has $host .hosts }}{{ $tls = true }}{{ end }}{{ end -}}
{{- printf "%s://%s" (ternary "https" "http" $tls) $host -}}
{{- end -}}
{{- end -}}

{{/* Has the collector any alert files to mount? */}}
{{- define "vigil.collector.hasAlertFiles" -}}
{{- $a := .Values.collector.alerts -}}
{{- if or $a.channels $a.rules $a.existingConfigMaps -}}true{{- end -}}
{{- end -}}

{{/* env entries from a list of {name, secretName, key, optional}. */}}
{{- define "vigil.secretEnv" -}}
{{- range $i, $e := . }}
{{- with $e }}
{{- if $i }}{{ "\n" }}{{ end -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .key | quote }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "vigil.extraEnv" -}}
{{- range $i, $e := . }}
{{- if $i }}{{ "\n" }}{{ end -}}
- name: {{ $e.name }}
  value: {{ $e.value | quote }}
{{- end }}
{{- end -}}

{{/* Topology spread constraints, each defaulting its labelSelector to the component's pods. */}}
{{- define "vigil.topologySpread" -}}
{{- $selector := dict "matchLabels" (include "vigil.selectorLabels" (dict "root" .root "component" .component) | fromYaml) -}}
{{- range .constraints }}
{{- $item := deepCopy . }}
{{- if not (hasKey $item "labelSelector") }}{{ $_ := set $item "labelSelector" $selector }}{{ end }}
- {{ toYaml $item | nindent 2 | trim }}
{{- end }}
{{- end -}}

{{/*
Checks of combinations the schema cannot express, with messages that say what to do.
Included by the collector's workload template, so every render runs them.
*/}}
{{- define "vigil.validate" -}}
{{- $c := .Values.collector -}}
{{- if eq .Values.storage.mode "embedded" -}}
{{- if gt (int $c.replicas) 1 -}}
{{- fail (printf "\n\nvigil: storage.mode=embedded runs exactly one collector, but collector.replicas is %d.\nThe embedded ClickHouse (chDB) locks its data directory: a second replica cannot open it.\nSet collector.replicas=1, or use storage.mode=external with a ClickHouse server (storage.external.url) to run several replicas." (int $c.replicas)) -}}
{{- end -}}
{{- if $c.autoscaling.enabled -}}
{{- fail "\n\nvigil: collector.autoscaling.enabled needs storage.mode=external: in embedded mode the collector runs exactly one replica (the embedded ClickHouse locks its data directory)." -}}
{{- end -}}
{{- else -}}
{{- if not .Values.storage.external.url -}}
{{- fail "\n\nvigil: storage.mode=external needs storage.external.url, the ClickHouse server's HTTP(S) URL, e.g. http://clickhouse.db.svc:8123." -}}
{{- end -}}
{{- if not $c.secrets.secretKey.existingSecret -}}
{{- fail "\n\nvigil: storage.mode=external needs collector.secrets.secretKey.existingSecret: a Secret with VIGIL_SECRET_KEY (16+ characters) that every collector replica shares to encrypt alert channel secrets, e.g.\n  kubectl create secret generic vigil-secret-key --from-literal=secret-key=\"$(openssl rand -hex 32)\"" -}}
{{- end -}}
{{- if and .Values.storage.external.caBundle.existingConfigMap .Values.storage.external.caBundle.existingSecret -}}
{{- fail "\n\nvigil: set storage.external.caBundle.existingConfigMap or storage.external.caBundle.existingSecret, not both." -}}
{{- end -}}
{{- if and $c.autoscaling.enabled (lt (int $c.autoscaling.maxReplicas) (int $c.autoscaling.minReplicas)) -}}
{{- fail (printf "\n\nvigil: collector.autoscaling.maxReplicas (%d) is below minReplicas (%d)." (int $c.autoscaling.maxReplicas) (int $c.autoscaling.minReplicas)) -}}
{{- end -}}
{{- end -}}
{{- if and $c.podDisruptionBudget.enabled (not (kindIs "invalid" $c.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" $c.podDisruptionBudget.maxUnavailable)) -}}
{{- fail "\n\nvigil: collector.podDisruptionBudget takes minAvailable or maxUnavailable, not both: set the other to null." -}}
{{- end -}}
{{- if and $c.podDisruptionBudget.enabled (kindIs "invalid" $c.podDisruptionBudget.minAvailable) (kindIs "invalid" $c.podDisruptionBudget.maxUnavailable) -}}
{{- fail "\n\nvigil: collector.podDisruptionBudget needs minAvailable or maxUnavailable." -}}
{{- end -}}
{{- $a := .Values.agent -}}
{{- if $a.enabled -}}
{{- if not $a.apiKey.existingSecret -}}
{{- fail "\n\nvigil: agent.enabled needs agent.apiKey.existingSecret: a Secret with an ingest API key. Create the key through the collector's API once it runs:\n  curl -s -H \"Authorization: Bearer $ADMIN_KEY\" -H 'content-type: application/json' -d '{\"name\":\"k8s agents\",\"scopes\":[\"ingest\"]}' http://<collector>/api/keys\nthen: kubectl create secret generic vigil-agent --from-literal=api-key=<token>" -}}
{{- end -}}
{{- if and (eq $a.dataVolume.type "hostPath") (ne $a.kind "DaemonSet") -}}
{{- fail "\n\nvigil: agent.dataVolume.type=hostPath is for agent.kind=DaemonSet (one agent per node owns the node's folder). For a Deployment use persistentVolumeClaim (one replica) or emptyDir." -}}
{{- end -}}
{{- if eq $a.dataVolume.type "persistentVolumeClaim" -}}
{{- if or (ne $a.kind "Deployment") (gt (int $a.replicas) 1) -}}
{{- fail "\n\nvigil: agent.dataVolume.type=persistentVolumeClaim needs agent.kind=Deployment with agent.replicas=1: one claim holds one agent's queue. A DaemonSet keeps its queue on the node with type=hostPath." -}}
{{- end -}}
{{- end -}}
{{- if and (not (kindIs "invalid" $a.intake.hostPort)) (ne $a.kind "DaemonSet") -}}
{{- fail "\n\nvigil: agent.intake.hostPort is for agent.kind=DaemonSet (two replicas of a Deployment on one node would fight for the port)." -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The agent's configuration file, from agent.config plus what the chart decides. */}}
{{- define "vigil.agent.config" -}}
{{- $a := .Values.agent -}}
{{- $cfg := deepCopy $a.config -}}
{{- $collector := dict "url" (default (include "vigil.collector.url" .) $a.collectorUrl) "api_key" "${VIGIL_API_KEY}" -}}
{{- $_ := set $cfg "collector" (merge $collector $cfg.collector) -}}
{{- $_ := set $cfg "agent" (dict "name" "${VIGIL_AGENT_NAME}" "data_dir" $a.dataVolume.mountPath) -}}
{{- $_ := set $cfg "intake" (dict "enabled" true "address" (printf "0.0.0.0:%d" (int $a.intake.port))) -}}
{{- if not $cfg.http.user_agent -}}{{- $_ := unset $cfg.http "user_agent" -}}{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}
