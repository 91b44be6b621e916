#!/usr/bin/env bash
# Writes resource-customizations.yaml (the argocd-cm snippet) from modeldeployment.lua.
# With --check, only reports whether the file is up to date (exit 1 if not).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
render() {
  cat <<'HEADER'
# Argo CD health check for ModelDeployment (docs/health.md). Merge it into the argocd-cm ConfigMap:
#   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file health/argocd/resource-customizations.yaml
# or paste the data entry into your own argocd-cm. Generated from modeldeployment.lua by
# gen-snippet.sh: edit the .lua file and run gen-snippet.sh, not this file.
data:
  resource.customizations.health.mlops.healthpredict.io_ModelDeployment: |
HEADER
  sed '/./s/^/    /' "$here/modeldeployment.lua"
}
if [ "${1:-}" = --check ]; then
  if ! diff -u "$here/resource-customizations.yaml" <(render) >&2; then
    echo "resource-customizations.yaml is stale: run health/argocd/gen-snippet.sh" >&2
    exit 1
  fi
else
  render >"$here/resource-customizations.yaml"
fi
