#!/usr/bin/env bash
# Writes resource-customizations.yaml (the argocd-cm snippet) from modeldeployment.lua (the health
# check) and actions/ (the resource actions: discovery.lua and one NAME/action.lua per action).
# With --check, only reports whether the file is up to date (exit 1 if not).
set -euo pipefail
export LC_ALL=C # the order of the actions' glob
here="$(cd "$(dirname "$0")" && pwd)"

# A Lua file as the body of a YAML literal block, indented by $1 spaces. The block keeps exactly
# one final newline and takes its indentation from the first line, so refuse files that would
# not come back out of the YAML byte for byte.
block() {
  local pad file="$2"
  pad="$(printf '%*s' "$1" '')"
  if [ "$(tail -c 1 "$file" | od -An -c | tr -d ' ')" != '\n' ] || [ -z "$(tail -n 1 "$file")" ]; then
    echo "gen-snippet.sh: $file must end with exactly one newline" >&2
    exit 1
  fi
  if head -n 1 "$file" | grep -q '^[[:space:]]'; then
    echo "gen-snippet.sh: the first line of $file must not be indented" >&2
    exit 1
  fi
  sed "/./s/^/$pad/" "$file"
}

render() {
  cat <<'HEADER'
# Argo CD health check and resource actions (approve, retry) for ModelDeployment (docs/health.md).
# Merge them into the argocd-cm ConfigMap:
#   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file health/argocd/resource-customizations.yaml
# or paste the data entries into your own argocd-cm. Generated from modeldeployment.lua and
# actions/ by gen-snippet.sh: edit the .lua files and run gen-snippet.sh, not this file.
data:
  resource.customizations.health.mlops.healthpredict.io_ModelDeployment: |
HEADER
  block 4 "$here/modeldeployment.lua"
  echo '  resource.customizations.actions.mlops.healthpredict.io_ModelDeployment: |'
  echo '    discovery.lua: |'
  block 6 "$here/actions/discovery.lua"
  echo '    definitions:'
  local action name found=0
  for action in "$here"/actions/*/action.lua; do
    [ -f "$action" ] || continue
    name="$(basename "$(dirname "$action")")"
    if ! [[ "$name" =~ ^[a-z][a-z0-9-]*$ ]]; then
      echo "gen-snippet.sh: action name \"$name\" must be lower-case letters, digits and dashes" >&2
      exit 1
    fi
    echo "      - name: $name"
    echo '        action.lua: |'
    block 10 "$action"
    found=1
  done
  if [ "$found" = 0 ]; then
    echo "gen-snippet.sh: no actions/*/action.lua under $here" >&2
    exit 1
  fi
}

snippet="$(render)" # fails here, before anything is written, if a file is refused
if [ "${1:-}" = --check ]; then
  if ! diff -u "$here/resource-customizations.yaml" <(printf '%s\n' "$snippet") >&2; then
    echo "resource-customizations.yaml is stale: run health/argocd/gen-snippet.sh" >&2
    exit 1
  fi
else
  printf '%s\n' "$snippet" >"$here/resource-customizations.yaml"
fi
