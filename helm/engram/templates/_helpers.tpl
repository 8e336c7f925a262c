{{- define "engram.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "engram.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "engram.selectorLabels" -}}
app.kubernetes.io/name: {{ include "engram.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
The server's pods. The eviction Job's pods share the selector labels above,
so everything that means "the server" (the Deployment, Service, PDB and
NetworkPolicy) selects on the component too: a running eviction Job must
never become a Service endpoint.
*/}}
{{- define "engram.serverSelectorLabels" -}}
{{ include "engram.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{/* "true" when Redis and Weaviate hold every tier, so replicas share all state. */}}
{{- define "engram.sharedBackends" -}}
{{- if and (or .Values.redis.url .Values.redis.clusterNodes .Values.redis.sentinel.nodes) .Values.weaviate.url -}}true{{- end -}}
{{- end -}}

{{/* Refuses values that would split the embedded store's data across pods or leave eviction without it. */}}
{{- define "engram.validate" -}}
{{- if not (include "engram.sharedBackends" .) -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled -}}
{{- fail "the embedded store lives in one pod: set redis.url (or redis.clusterNodes or redis.sentinel.nodes) and weaviate.url to run more than one replica, or keep replicaCount=1 and autoscaling.enabled=false" -}}
{{- end -}}
{{- if and .Values.eviction.enabled (not .Values.persistence.enabled) -}}
{{- fail "eviction on the embedded store needs persistence.enabled=true: the CronJob reaches the data through the server's volume (or set weaviate.url, or eviction.enabled=false)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The Secret holding tokens.json: the chart's own (from auth.callers) or the
operator's (auth.tokensSecret). Installing with neither fails, saying how to
provide one, unless auth.insecure is set explicitly.
*/}}
{{- define "engram.tokensSecretName" -}}
{{- if and .Values.auth.callers .Values.auth.tokensSecret -}}
{{- fail "set auth.callers (the chart creates the Secret) or auth.tokensSecret (a Secret you created), not both" -}}
{{- else if .Values.auth.callers -}}
{{ include "engram.fullname" . }}-auth
{{- else if .Values.auth.tokensSecret -}}
{{ .Values.auth.tokensSecret }}
{{- else if not .Values.auth.insecure -}}
{{- fail "callers need tokens: set auth.callers (e.g. --set-json 'auth.callers=[{\"name\":\"chat-api\",\"tokenSha256\":\"<engram hash-token TOKEN>\",\"namespaces\":[\"chat\"],\"permissions\":[\"read\",\"write\"]}]'), or auth.tokensSecret=NAME after `kubectl create secret generic NAME --from-file=tokens.json`, or explicitly auth.insecure=true" -}}
{{- end -}}
{{- end -}}

{{/* gRPC probes when the port is plaintext; HTTP probes on the metrics port under TLS, which the kubelet's gRPC probe cannot speak. */}}
{{- define "engram.probe" -}}
{{- if .root.Values.tls.enabled -}}
httpGet:
  path: {{ ternary "/livez" "/readyz" (eq .service "liveness") }}
  port: metrics
{{- else -}}
grpc:
  port: {{ .root.Values.service.grpcPort }}
  service: {{ .service }}
{{- end -}}
{{- end -}}

{{- define "engram.labels" -}}
{{ include "engram.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "engram.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "engram.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "engram.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* Configuration shared by the server and the eviction CronJob. */}}
{{- define "engram.envFrom" -}}
- configMapRef:
    name: {{ include "engram.fullname" . }}
{{- if .Values.existingSecret }}
- secretRef:
    name: {{ .Values.existingSecret }}
{{- end }}
{{- end -}}

{{- define "engram.securityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
