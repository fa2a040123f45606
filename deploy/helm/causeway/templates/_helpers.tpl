{{/* Names and labels. */}}
{{- define "causeway.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "causeway.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "causeway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "causeway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "causeway.labels" -}}
{{ include "causeway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "causeway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "causeway.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* One Kubernetes provider's static options (Traefik's names) from its values: the set
     ones, and every boolean. */}}
{{- define "causeway.providerOptions" -}}
{{- $p := dict -}}
{{- range $key, $value := omit . "enabled" "publishService" -}}
{{- if or (kindIs "bool" $value) $value }}{{ $_ := set $p $key $value }}{{ end -}}
{{- end -}}
{{- toYaml $p -}}
{{- end -}}

{{/* The static configuration file, as YAML. */}}
{{- define "causeway.staticConfig" -}}
{{- $v := .Values -}}
{{- /* Each entryPoint gets its own dicts: staticConfig is merged into them in place. */ -}}
{{- $transport := dict "lifeCycle" (dict "graceTimeOut" $v.graceTimeOut) -}}
{{- $entryPoints := dict
      "web" (dict "address" (printf ":%d" (int $v.ports.web)) "transport" (deepCopy $transport))
      "websecure" (dict "address" (printf ":%d" (int $v.ports.websecure)) "transport" (deepCopy $transport) "http" (dict "tls" (dict)))
      "traefik" (dict "address" (printf ":%d" (int $v.ports.traefik))) -}}
{{- $providers := dict -}}
{{- with $v.providers.kubernetesCRD -}}
{{- if .enabled -}}
{{- $_ := set $providers "kubernetesCRD" (include "causeway.providerOptions" . | fromYaml) -}}
{{- end -}}
{{- end -}}
{{- with $v.providers.kubernetesIngress -}}
{{- if .enabled -}}
{{- $ingress := include "causeway.providerOptions" . | fromYaml -}}
{{- if and .publishService $v.service.enabled -}}
{{- $_ := set $ingress "ingressEndpoint" (dict "publishedService" (printf "%s/%s" $.Release.Namespace (include "causeway.fullname" $))) -}}
{{- end -}}
{{- $_ := set $providers "kubernetesIngress" $ingress -}}
{{- end -}}
{{- end -}}
{{- if $v.providers.kubernetesGateway.enabled -}}
{{- $_ := set $providers "kubernetesGateway" (dict) -}}
{{- end -}}
{{- if $v.providers.kubernetesIngressNGINX.enabled -}}
{{- $_ := set $providers "kubernetesIngressNGINX" (dict "httpEntryPoint" "web" "httpsEntryPoint" "websecure") -}}
{{- end -}}
{{- $config := dict
      "global" (dict "checkNewVersion" false "sendAnonymousUsage" false)
      "workers" (int $v.workers)
      "entryPoints" $entryPoints
      "ping" (dict "entryPoint" "traefik")
      "api" (dict "dashboard" $v.api.dashboard "insecure" $v.api.insecure)
      "providers" $providers
      "log" (dict "level" $v.logs.level "format" $v.logs.format) -}}
{{- if $v.metrics.prometheus -}}
{{- $_ := set $config "metrics" (dict "prometheus" (dict "entryPoint" "traefik")) -}}
{{- end -}}
{{- if $v.logs.access -}}
{{- $_ := set $config "accessLog" (dict "format" $v.logs.format) -}}
{{- end -}}
{{- toYaml (mustMergeOverwrite $config (deepCopy $v.staticConfig)) -}}
{{- end -}}
