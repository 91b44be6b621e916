"""Test-bed stand-in for the pods kwok cannot run honestly (kwok fakes the kubelet: no containers).

- Image builds (label app.kubernetes.io/component=image-build, container "kaniko"): does what
  kaniko would. Checks every --destination repository exists in moto's ECR, pushes one
  deterministic manifest to each, and reports the digest as the termination message when
  --digest-file is the container's termination message path.
- Model tests (component=model-test): pass unless told otherwise.
Knobs for tests: build arg / container env TESTBED_OUTCOME=fail, TESTBED_BUILD_SECONDS=N (builds),
TESTBED_RUN_SECONDS=N and TESTBED_FAIL_VERSIONS=2,5 (tests of those model versions fail).

It never writes pod status: it sets the annotations testbed.example.com/outcome (succeed|fail) and
testbed.example.com/message, and kwok's stages (stages.yaml) hold such pods Running until then and
finish them from the annotations. So pod status has a single writer, as with a real kubelet.

It never touches pods on the bed's real node: those run for real.

Usage: python standin.py API_URL PKI_DIR MOTO_URL REAL_NODE   (started by up.sh, log on stdout)
"""

import hashlib
import json
import re
import sys
import threading
import time

import boto3
import botocore.config
import requests
from botocore.exceptions import ClientError

OUTCOME = "testbed.example.com/outcome"
MESSAGE = "testbed.example.com/message"
SELECTOR = "app.kubernetes.io/component in (image-build,model-test)"
ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"

api_url, pki, moto_url, real_node = sys.argv[1:5]
FIELDS = f"spec.nodeName!={real_node}"
pods_url = f"{api_url}/api/v1/pods"
local = threading.local()
lock = threading.Lock()
ecr_clients = {}
workers = {}  # pod uid -> Event set when the pod goes away (cancels a pending build/test)


def log(msg):
    print(f"{time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} {msg}", flush=True)


def api():
    # One session per thread: requests.Session is not documented as thread-safe.
    if not hasattr(local, "s"):
        local.s = requests.Session()
        # Else REQUESTS_CA_BUNDLE (set on some machines) overrides s.verify, and *_proxy apply.
        local.s.trust_env = False
        local.s.cert = (f"{pki}/admin.crt", f"{pki}/admin.key")
        local.s.verify = f"{pki}/ca.crt"
    return local.s


def ecr(region):
    with lock:  # boto3's default session is not thread-safe when creating clients
        if region not in ecr_clients:
            ecr_clients[region] = boto3.client(
                "ecr", region_name=region, endpoint_url=moto_url,
                config=botocore.config.Config(retries={"max_attempts": 2, "mode": "standard"},
                                              connect_timeout=5, read_timeout=20))
        return ecr_clients[region]


def pod_url(pod):
    m = pod["metadata"]
    return f"{api_url}/api/v1/namespaces/{m['namespace']}/pods/{m['name']}"


def still_wanted(pod):
    """The pod still exists (same uid) and is not being deleted, e.g. its Job was not killed."""
    r = api().get(pod_url(pod), timeout=10)
    if r.status_code == 404:
        return False
    r.raise_for_status()
    m = r.json()["metadata"]
    return m["uid"] == pod["metadata"]["uid"] and not m.get("deletionTimestamp")


def decide(pod, outcome, message):
    # The uid in the merge patch makes it fail (uid is immutable) if the name now is another pod.
    patch = {"metadata": {"uid": pod["metadata"]["uid"],
                          "annotations": {OUTCOME: outcome, MESSAGE: message}}}
    r = api().patch(pod_url(pod), data=json.dumps(patch), timeout=10,
                    headers={"Content-Type": "application/merge-patch+json"})
    if r.status_code == 404:
        return log(f"{name(pod)}: gone before the outcome was set")
    r.raise_for_status()
    log(f"{name(pod)}: {outcome} ({message})")


def name(pod):
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def kaniko_flags(container):
    """kaniko's flags as {flag: [values]}; accepts --flag=value, --flag value and -d/-c/-f value."""
    short = {"-d": "--destination", "-c": "--context", "-f": "--dockerfile"}
    flags, tokens = {}, container.get("command", []) + container.get("args", [])
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.startswith("-"):
            if "=" in t:
                k, v = t.split("=", 1)
            elif i + 1 < len(tokens) and not tokens[i + 1].startswith("-"):
                k, v = t, tokens[i + 1]
                i += 1
            else:
                k, v = t, ""
            flags.setdefault(short.get(k, k), []).append(v)
        i += 1
    return flags


def manifest_for(destinations, build_args, flags):
    """A deterministic image manifest: same build inputs -> same digest, as a reproducible build.
    TESTBED_* args steer the stand-in, not the image, so they don't count."""
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "testbed": {"destinations": sorted(destinations),
                    "buildArgs": {k: v for k, v in sorted(build_args.items())
                                  if not k.startswith("TESTBED_")},
                    "context": flags.get("--context", [""])[-1],
                    "dockerfile": flags.get("--dockerfile", [""])[-1]},
    }, sort_keys=True, separators=(",", ":")).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    layer_digest = "sha256:" + hashlib.sha256(b"layer:" + config).hexdigest()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(config), "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 1024 + len(config), "digest": layer_digest}],
    }, separators=(",", ":"))
    # moto does not hash the manifest itself; pass the real digest so it matches a registry's.
    return manifest, "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()


def parse_destination(dest):
    host, _, path = dest.partition("/")
    repo, tag = path, "latest"
    if ":" in path.rsplit("/", 1)[-1]:
        repo, tag = path.rsplit(":", 1)
    m = ECR_HOST.match(host)
    if not m or not repo:
        raise ValueError(f"destination {dest} is not an ECR repository (the bed only has ECR)")
    return host, m.group(1), m.group(2), repo, tag


def run_build(pod, gone):
    container = next((c for c in pod["spec"]["containers"] if c["name"] == "kaniko"), None)
    if container is None:
        return "fail", "no container named kaniko"
    flags = kaniko_flags(container)
    build_args = dict(a.split("=", 1) if "=" in a else (a, "") for a in flags.get("--build-arg", []))
    if gone.wait(float(build_args.get("TESTBED_BUILD_SECONDS", 0))) or not still_wanted(pod):
        return None  # killed during the build: push nothing, like a killed kaniko
    if build_args.get("TESTBED_OUTCOME") == "fail":
        return "fail", "simulated build failure"
    destinations = flags.get("--destination", [])
    if not destinations:
        return "fail", "no --destination given"
    try:
        targets = [parse_destination(d) for d in destinations]
    except ValueError as e:
        return "fail", str(e)
    # kaniko checks push access to every destination before building; check all repos first.
    for host, account, region, repo, _ in targets:
        try:
            ecr(region).describe_repositories(registryId=account, repositoryNames=[repo])
        except ClientError as e:
            if e.response["Error"]["Code"] == "RepositoryNotFoundException":
                return "fail", f"repository {host}/{repo} does not exist"
            raise
    manifest, digest = manifest_for(destinations, build_args, flags)
    for host, account, region, repo, tag in targets:
        try:
            ecr(region).put_image(registryId=account, repositoryName=repo, imageTag=tag,
                                  imageManifest=manifest, imageManifestMediaType=MANIFEST_TYPE,
                                  imageDigest=digest)
        except ClientError as e:
            # Same build again (same tag, same digest): a registry answers this; kaniko succeeds.
            if e.response["Error"]["Code"] != "ImageAlreadyExistsException":
                return "fail", f"pushing {host}/{repo}:{tag}: {e.response['Error']['Message']}"
        log(f"{name(pod)}: pushed {host}/{repo}:{tag}@{digest}")
    # kaniko writes the digest to --digest-file; it is the termination message only if that file
    # is the container's terminationMessagePath (the kubelet reads that file).
    digest_file = flags.get("--digest-file", [""])[-1]
    return "succeed", digest if digest_file == container.get(
        "terminationMessagePath", "/dev/termination-log") else ""


def run_test(pod, gone):
    env = {e["name"]: e.get("value", "") for c in pod["spec"]["containers"] for e in c.get("env", [])}
    if gone.wait(float(env.get("TESTBED_RUN_SECONDS", 0))) or not still_wanted(pod):
        return None
    failing = [v for v in env.get("TESTBED_FAIL_VERSIONS", "").split(",") if v]
    if env.get("TESTBED_OUTCOME") == "fail" or env.get("MODEL_VERSION") in failing:
        return "fail", f"simulated test failure of version {env.get('MODEL_VERSION')}"
    return "succeed", ""


def work(pod, gone):
    run = run_build if pod["metadata"]["labels"].get(
        "app.kubernetes.io/component") == "image-build" else run_test
    try:
        result = run(pod, gone)
    except Exception as e:  # a stuck pod would hide the bug; fail it visibly instead
        log(f"{name(pod)}: stand-in error: {e!r}")
        result = "fail", f"testbed stand-in error: {e}"
    if result is None:
        return log(f"{name(pod)}: deleted before it finished; nothing done")
    for attempt in range(3):  # nothing else would ever finish the pod
        try:
            return decide(pod, *result)
        except Exception as e:
            log(f"{name(pod)}: setting the outcome failed (attempt {attempt + 1}): {e!r}")
            time.sleep(1)


def on_pod(pod):
    uid, meta = pod["metadata"]["uid"], pod["metadata"]
    if meta.get("deletionTimestamp"):
        gone(uid)
    elif (pod.get("status", {}).get("phase") == "Running" and OUTCOME not in meta.get("annotations", {})
          and uid not in workers):
        workers[uid] = threading.Event()
        log(f"{name(pod)}: running, deciding")
        threading.Thread(target=work, args=(pod, workers[uid]), daemon=True).start()


def gone(uid):
    ev = workers.pop(uid, None)
    if ev:
        ev.set()


def main():
    ready = False
    while True:
        try:
            r = api().get(pods_url, params={"labelSelector": SELECTOR, "fieldSelector": FIELDS}, timeout=10)
            r.raise_for_status()
            listed = r.json()
            rv = listed["metadata"]["resourceVersion"]
            for uid in set(workers) - {p["metadata"]["uid"] for p in listed["items"]}:
                gone(uid)  # deleted while we were not watching
            for p in listed["items"]:
                on_pod(p)
            if not ready:
                log("watching pods")  # up.sh waits for this line
                ready = True
            while True:  # the apiserver ends each watch after timeoutSeconds; resume from rv
                with api().get(pods_url, stream=True, timeout=(5, 330), params={
                        "labelSelector": SELECTOR, "fieldSelector": FIELDS, "watch": "1", "resourceVersion": rv,
                        "allowWatchBookmarks": "true", "timeoutSeconds": "300"}) as w:
                    w.raise_for_status()
                    for line in w.iter_lines():
                        if not line:
                            continue
                        ev = json.loads(line)
                        if ev["type"] == "ERROR":  # typically 410 Gone: rv too old, re-list
                            raise RuntimeError(f"watch error: {ev['object'].get('message')}")
                        rv = ev["object"]["metadata"]["resourceVersion"]
                        if ev["type"] == "DELETED":
                            gone(ev["object"]["metadata"]["uid"])
                        elif ev["type"] in ("ADDED", "MODIFIED"):
                            on_pod(ev["object"])
        except Exception as e:
            log(f"re-listing after: {e!r}")
            time.sleep(1)


if __name__ == "__main__":
    main()
