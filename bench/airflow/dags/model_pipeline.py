"""The model pipeline the operator replaces, as a team would write it as an Airflow DAG.

Triggered by hand (no schedule) with a conf; five tasks run one after the other:

  resolve_version  the version the alias points at (MLflow REST)
  build_image      create the build Job from a manifest, wait for it to complete
  set_image        kubectl set image on the serving Deployment
  rollout_status   kubectl rollout status
  run_tests        create the API test Job, wait for it to complete

The conf (dag_run.conf), all strings unless said otherwise:

  kubeconfig           path of the kubeconfig kubectl uses (else $KUBECONFIG)
  namespace            namespace of the Deployment and the Jobs
  deployment           serving Deployment name
  container            its container to update
  tracking_uri         MLflow tracking URI, e.g. http://127.0.0.1:5000
  model_name           registered model
  alias                its alias (default "champion")
  image                image to roll out; ${MODEL_NAME} and ${MODEL_VERSION} are substituted
  build_job_manifest   optional: path of a Job manifest (YAML or JSON) that builds `image`;
                       ${MODEL_NAME}, ${MODEL_VERSION}, ${IMAGE} and ${RUN_SUFFIX} (8 hex characters
                       unique to the DAG run) are substituted. Without it the image is not built.
  test_job_manifest    path of the test Job manifest, substituted likewise; or else
  test_image           the test Job's image, and
  test_command         its command (a list, or a string run by /bin/sh -c)
  test_env             optional: extra environment of the test container (an object)
  test_labels          optional: the test Job's labels (an object; default
                       {"app.kubernetes.io/component": "model-test"}, as the operator's test Jobs)
  build_timeout, rollout_timeout, test_timeout   seconds (numbers; default 600 each)
  kubectl              optional: the kubectl to run (else $KUBECTL, else "kubectl" on PATH)

The test container gets SERVICE_URL, MODEL_NAME, MODEL_VERSION and MODEL_URI, as the operator's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import shlex
import subprocess
import threading
import urllib.parse
import urllib.request
from string import Template

import pendulum
import yaml
from airflow.sdk import chain, dag, get_current_context, task

DEFAULT_TIMEOUT = 600
TEST_LABELS = {"app.kubernetes.io/component": "model-test"}


# ---------------------------------------------------------------------------------------------
# Helpers the tasks share


def _conf() -> dict:
    conf = get_current_context()["dag_run"].conf or {}
    missing = [k for k in ("namespace", "deployment", "container", "tracking_uri", "model_name", "image")
               if not conf.get(k)]
    if missing:
        raise ValueError(f"dag_run.conf lacks {', '.join(missing)}: trigger the DAG with them")
    return conf


def _kubectl_cmd(conf: dict, *args: str) -> list[str]:
    kubectl = conf.get("kubectl") or os.environ.get("KUBECTL", "kubectl")
    cmd = [kubectl, "-n", conf["namespace"], *args]
    if conf.get("kubeconfig"):
        cmd[1:1] = ["--kubeconfig", conf["kubeconfig"]]
    print("+", shlex.join(cmd), flush=True)
    return cmd


def _kubectl(conf: dict, *args: str, stdin: str | None = None) -> str:
    """Runs kubectl against the conf's kubeconfig and namespace; its stdout, or an error with its stderr."""
    cmd = _kubectl_cmd(conf, *args)
    # Never the task's own stdin: in Airflow 3 that is its channel to the task supervisor.
    p = subprocess.run(cmd, input=stdin or "", capture_output=True, text=True)
    if p.stdout.strip():
        print(p.stdout.strip(), flush=True)
    if p.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def _substitutions(conf: dict, version: str) -> dict:
    run_id = get_current_context()["dag_run"].run_id
    subs = {
        "MODEL_NAME": conf["model_name"],
        "MODEL_VERSION": version,
        "RUN_SUFFIX": hashlib.sha256(run_id.encode()).hexdigest()[:8],
    }
    subs["IMAGE"] = Template(conf["image"]).safe_substitute(subs)
    return subs


def _manifest(path: str, subs: dict) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(Template(f.read()).safe_substitute(subs))


def _create_job(conf: dict, job: dict, default_prefix: str) -> str:
    """Creates the Job; its name (a manifest without one gets a generateName)."""
    meta = job.setdefault("metadata", {})
    meta.pop("namespace", None)  # the conf's namespace, through -n
    if not meta.get("name") and not meta.get("generateName"):
        meta["generateName"] = default_prefix
    out = _kubectl(conf, "create", "-f", "-", "-o", "name", stdin=json.dumps(job)).strip()
    return out.split("/", 1)[-1] if out else meta.get("name") or meta["generateName"]


def _wait_for_job(conf: dict, name: str, timeout: float) -> None:
    """`kubectl wait` for the Job's Complete condition and, beside it, for Failed, so that a failed
    Job fails the task at once rather than at the timeout."""
    wait_for = {
        c: subprocess.Popen(_kubectl_cmd(conf, "wait", f"--for=condition={c}", f"job/{name}",
                                         f"--timeout={int(timeout)}s"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in ("complete", "failed")
    }
    first: queue.SimpleQueue[str] = queue.SimpleQueue()
    for c, p in wait_for.items():
        threading.Thread(target=lambda c=c, p=p: (p.wait(), first.put(c)), daemon=True).start()
    try:
        cond = first.get()
        if cond == "failed" and wait_for["failed"].returncode == 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                wait_for["complete"].wait(0.5)  # both at once would be a kubectl stand-in, not a Job
            if wait_for["complete"].returncode != 0:
                status = _kubectl(conf, "get", f"job/{name}", "-o", "jsonpath={.status.conditions}")
                raise RuntimeError(f"Job {name} failed: {status}")
        else:
            p = wait_for["complete"]
            p.wait()
            out, err = p.communicate()
            if out.strip():
                print(out.strip(), flush=True)
            if p.returncode != 0:
                raise RuntimeError(f"kubectl wait for job/{name} to complete exited {p.returncode}: {err.strip()}")
    finally:
        for p in wait_for.values():
            if p.poll() is None:
                p.kill()
                p.wait()


# ---------------------------------------------------------------------------------------------
# The pipeline


@dag(
    dag_id="model_pipeline",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    is_paused_upon_creation=False,
    max_active_runs=1,
    default_args={"retries": 0},
    tags=["mlops", "benchmark"],
    doc_md=__doc__,
)
def model_pipeline():
    @task
    def resolve_version() -> str:
        conf = _conf()
        query = urllib.parse.urlencode({"name": conf["model_name"], "alias": conf.get("alias") or "champion"})
        url = f"{conf['tracking_uri'].rstrip('/')}/api/2.0/mlflow/registered-models/alias?{query}"
        print("GET", url, flush=True)
        with urllib.request.urlopen(url, timeout=30) as r:
            version = str(json.load(r)["model_version"]["version"])
        print(f"Resolved {conf['model_name']}@{conf.get('alias') or 'champion'} to version {version}", flush=True)
        return version

    @task
    def build_image(version: str) -> str:
        conf = _conf()
        subs = _substitutions(conf, version)
        if not conf.get("build_job_manifest"):
            print(f"No build_job_manifest: using {subs['IMAGE']} as it is", flush=True)
            return subs["IMAGE"]
        name = _create_job(conf, _manifest(conf["build_job_manifest"], subs), f"{conf['deployment']}-build-")
        _wait_for_job(conf, name, float(conf.get("build_timeout", DEFAULT_TIMEOUT)))
        print(f"Built {subs['IMAGE']} (Job {name})", flush=True)
        return subs["IMAGE"]

    @task
    def set_image(image: str) -> None:
        conf = _conf()
        _kubectl(conf, "set", "image", f"deployment/{conf['deployment']}", f"{conf['container']}={image}")

    @task
    def rollout_status() -> None:
        conf = _conf()
        timeout = int(conf.get("rollout_timeout", DEFAULT_TIMEOUT))
        _kubectl(conf, "rollout", "status", f"deployment/{conf['deployment']}", f"--timeout={timeout}s")

    @task
    def run_tests(version: str) -> None:
        conf = _conf()
        subs = _substitutions(conf, version)
        if conf.get("test_job_manifest"):
            job = _manifest(conf["test_job_manifest"], subs)
        else:
            job = _test_job(conf, version)
        name = _create_job(conf, job, f"{conf['deployment']}-test-")
        _wait_for_job(conf, name, float(conf.get("test_timeout", DEFAULT_TIMEOUT)))
        print(f"Tests of version {version} passed (Job {name})", flush=True)

    version = resolve_version()
    image = build_image(version)
    chain(version, image, set_image(image), rollout_status(), run_tests(version))


def _test_job(conf: dict, version: str) -> dict:
    if not conf.get("test_image"):
        raise ValueError("dag_run.conf has neither test_job_manifest nor test_image")
    command = conf.get("test_command")
    if isinstance(command, str):
        command = ["/bin/sh", "-c", command]
    env = {
        **(conf.get("test_env") or {}),
        "SERVICE_URL": f"http://{conf['deployment']}.{conf['namespace']}.svc",
        "MODEL_NAME": conf["model_name"],
        "MODEL_VERSION": version,
        "MODEL_URI": f"models:/{conf['model_name']}/{version}",
    }
    labels = conf.get("test_labels") or TEST_LABELS
    container = {"name": "test", "image": conf["test_image"],
                 "env": [{"name": k, "value": str(v)} for k, v in env.items()]}
    if command:
        container["command"] = command
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": f"{conf['deployment']}-test-", "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": int(conf.get("test_timeout", DEFAULT_TIMEOUT)),
            "ttlSecondsAfterFinished": 3600,
            "template": {"metadata": {"labels": labels},
                         "spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }


model_pipeline()
