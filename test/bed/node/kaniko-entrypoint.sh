#!/bin/bash
# Entrypoint of the test bed's Kaniko image (/kaniko/bed-entrypoint; test/bed/node/images.sh
# builds the image). The operator renders the same build Job for the bed as for EKS: its
# --destination and --cache-repo name an ECR repository and its --context is an s3:// URL. This
# script is the only bed-side difference. It runs the upstream executor with the same arguments,
# except:
#   - a --destination or --cache-repo whose host is <account>.dkr.ecr.<region>.amazonaws.com is
#     sent to the bed's registry (BED_REGISTRY) instead, with the same repository path and tag.
#     The registry forwards every push to moto's ECR with the same digest, so the operator sees
#     the image there, as it would on EKS;
#   - --insecure-registry=$BED_REGISTRY is added, because the bed's registry is plain HTTP;
#   - it sets the environment that the s3:// build context needs to reach moto.
# BED_REGISTRY and BED_POD_MOTO_URL are set in the image's config when the image is built.
#
# BED_ENTRYPOINT_DRY_RUN=1 prints the command and the S3 environment, one item a line, instead of
# running it. BED_EXECUTOR replaces /kaniko/executor (for tests with a stub).
set -euo pipefail

registry="${BED_REGISTRY:?BED_REGISTRY is not set (the image config sets it)}"
moto="${BED_POD_MOTO_URL:?BED_POD_MOTO_URL is not set (the image config sets it)}"
executor="${BED_EXECUTOR:-/kaniko/executor}"

# Kaniko v1.24.0, pkg/buildcontext/s3.go, reads S3_ENDPOINT (constants.S3EndpointEnv). Without
# it the AWS SDK would fetch the build context from the real S3.
export S3_ENDPOINT="${S3_ENDPOINT:-$moto}"
# The same file reads S3_FORCE_PATH_STYLE (constants.S3ForcePathStyle) and turns on path-style
# URLs only when it equals "true". moto needs them: the virtual-host style would ask for the host
# <bucket>.198.18.0.1, which no DNS resolves.
export S3_FORCE_PATH_STYLE="${S3_FORCE_PATH_STYLE:-true}"
# The AWS SDK's default config (config.LoadDefaultConfig in s3.go) needs credentials to sign the
# request. moto takes any. Without them the SDK would try the instance metadata service, which
# the operator's Job turns off (AWS_EC2_METADATA_DISABLED), and the build would fail.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
# The operator's Job sets AWS_REGION. This default is for a run without it; the SDK cannot
# sign without a region.
export AWS_REGION="${AWS_REGION:-us-east-1}"

# to_bed_registry REF: REF with its host replaced by the bed registry when the host is ECR's.
to_bed_registry() {
  local ref=$1 host=${1%%/*}
  if [[ $ref == */* && $host == *.dkr.ecr.*.amazonaws.com ]]; then
    printf '%s/%s' "$registry" "${ref#*/}"
    printf 'bed-entrypoint: %s -> %s/%s\n' "$ref" "$registry" "${ref#*/}" >&2
  else
    printf '%s' "$ref"
  fi
}

args=()
while [ $# -gt 0 ]; do
  arg=$1
  shift
  case "$arg" in
    --destination=* | --cache-repo=* | -d=*)
      args+=("${arg%%=*}=$(to_bed_registry "${arg#*=}")")
      ;;
    --destination | --cache-repo | -d)
      args+=("$arg")
      if [ $# -gt 0 ]; then
        args+=("$(to_bed_registry "$1")")
        shift
      fi
      ;;
    *) args+=("$arg") ;;
  esac
done
# Kaniko v1.24.0 checks --insecure-registry by host for the push (pkg/executor/push.go), the
# cache (pkg/cache/cache.go, and the cache push in push.go) and the FROM pull
# (pkg/image/remote/remote.go): plain HTTP for this registry only, TLS for any other.
args+=("--insecure-registry=$registry")

if [ "${BED_ENTRYPOINT_DRY_RUN:-0}" = 1 ]; then
  printf '%s\n' "$executor" "${args[@]}"
  printf 'env %s\n' "S3_ENDPOINT=$S3_ENDPOINT" "S3_FORCE_PATH_STYLE=$S3_FORCE_PATH_STYLE" \
    "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" "AWS_REGION=$AWS_REGION"
  exit 0
fi
exec "$executor" "${args[@]}"
