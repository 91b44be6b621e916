"""Times the model pipeline as an Airflow DAG (dags/model_pipeline.py): the Airflow half of the
operator-versus-Airflow comparison.

Starts Airflow from nothing in a temporary AIRFLOW_HOME (SQLite metadata DB, LocalExecutor,
api-server + scheduler + dag-processor, all on 127.0.0.1), waits until the DAG is parsed, runs
--warmup unmeasured DAG runs, then --runs measured ones one after another, each triggered with
the same conf through the REST API (POST /api/v2/dags/model_pipeline/dagRuns, what a CI job or a
webhook does). Prints one JSON line on stdout; progress goes to stderr. It stops everything it
started (each Airflow component is its own process group) on exit, on an error and on
SIGINT/SIGTERM/SIGHUP.

  bash bench/airflow/run.sh --runs 5 --conf @conf.json
  "$(bash bench/airflow/venv.sh)/bin/python" bench/airflow/run.py --runs 5 --conf '{"namespace": ...}'

The conf's keys are in dags/model_pipeline.py's docstring. The DAG's tasks run kubectl as
conf.kubectl, else $KUBECTL, else kubectl on PATH.

How it measures (per measured run):
  ms        t(the driver reads state success|failed from the metadata DB, polled every --poll-ms)
            - t(just before the trigger request is sent); so it includes the trigger's round trip
            and up to one poll interval
  dbMs      dag_run.end_date - dag_run.queued_at, Airflow's own timestamps for the same span
  tasks     each task instance's queued/start/end (ms since the trigger) and duration, from the DB
  taskMs    sum of the task durations (the task runner's start to end, which includes the task
            process's own start-up); gapMs = ms - taskMs is what Airflow adds between tasks
  cpuSeconds  utime+stime (+cutime+cstime, so exited children such as task processes and kubectl
            count once reaped) of every process under the three Airflow components, read from
            /proc before the trigger and when the run is seen done
The top-level cpuSeconds covers the measured runs, from before the first trigger to the last
run seen done; idleCpuSeconds is the same sum over --idle-seconds of doing nothing first, Airflow's
baseline.

Airflow settings: Airflow's defaults, except what running it here needs (loopback addresses,
its own home, no example DAGs, a shared JWT secret, no authentication on a loopback-only API
server, no log server on all interfaces) -- see airflow_env(). Scheduler loop and heartbeat
timings are left at their defaults; export AIRFLOW__SECTION__KEY to override any of them, and
the JSON's "config" lists such overrides.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"
DAG_ID = "model_pipeline"
CLK_TCK = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT = 180.0
STOP_GRACE = 15.0
LOG_TAIL = 40


class BenchError(Exception):
    """A failure whose message says it all."""


def progress(msg: str) -> None:
    print(f"[airflow-bench] {msg}", file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3, help="measured DAG runs, one after another (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="unmeasured DAG runs first (default 1)")
    p.add_argument("--conf", required=True, help="the DAG run conf: JSON, or @FILE holding it")
    p.add_argument("--run-timeout", type=float, default=900, help="seconds one DAG run may take (default 900)")
    p.add_argument("--idle-seconds", type=float, default=10,
                   help="seconds of idle CPU measured before the runs (default 10; 0: skip)")
    p.add_argument("--poll-ms", type=float, default=20, help="metadata DB poll interval (default 20)")
    p.add_argument("--keep-home", action="store_true", help="keep AIRFLOW_HOME (DB, logs) and print its path")
    a = p.parse_args(argv)
    if not 1 <= a.runs <= 100 or not 0 <= a.warmup <= 10:
        p.error("--runs must be 1-100 and --warmup 0-10")
    raw = Path(a.conf[1:]).read_text(encoding="utf-8") if a.conf.startswith("@") else a.conf
    try:
        a.conf = json.loads(raw)
    except json.JSONDecodeError as e:
        p.error(f"--conf is not JSON: {e}")
    if not isinstance(a.conf, dict):
        p.error("--conf must be a JSON object")
    return a


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def airflow_env(home: Path, port: int) -> tuple[dict[str, str], dict[str, str]]:
    """The environment of every Airflow process, and the AIRFLOW__* overrides the caller exported."""
    base = f"http://127.0.0.1:{port}"
    defaults = {
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",  # Airflow 3's default; it runs on SQLite
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
    }
    caller = {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW__")}
    forced = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(home / "dag_bundles"),
        # Loopback only: the API server (UI, public API and the tasks' execution API).
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        # One secret for the processes that sign and check the tasks' tokens.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        # The driver triggers and reads through a loopback-only API server: no login.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
    }
    env = {**os.environ, **defaults, **caller, **forced}
    proxyless = "127.0.0.1,localhost"
    for k in ("no_proxy", "NO_PROXY"):
        env[k] = f"{env[k]},{proxyless}" if env.get(k) else proxyless
    overrides = {k: v for k, v in caller.items() if k not in forced}
    return env, overrides


# ---------------------------------------------------------------------------------------------
# The processes, their CPU time, and stopping them


def proc_stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields from the state on (field 3 is [0]); None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            s = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return s[s.rindex(")") + 2:].split()


def descendants(roots: list[int]) -> dict[int, list[str]]:
    """Every live (or not yet reaped) process under `roots`, roots included: pid -> stat fields."""
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                stats[int(entry)] = st
    children: dict[int, list[int]] = {}
    for pid, st in stats.items():
        children.setdefault(int(st[1]), []).append(pid)
    found: dict[int, list[str]] = {}
    todo = [r for r in roots if r in stats]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found[pid] = stats[pid]
            todo.extend(children.get(pid, []))
    return found


def cpu_seconds(roots: list[int]) -> float:
    """utime + stime + cutime + cstime of the trees under `roots`: a process that exited and was
    reaped inside a tree is in its parent's cutime/cstime, so deltas of this sum count it once."""
    return sum(sum(int(x) for x in st[11:15]) for st in descendants(roots).values()) / CLK_TCK


class Component:
    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path):
        self.name = name
        self.log = logs / f"{name}.log"
        with open(self.log, "wb") as out:
            # Its own session, so its process group is everything it starts.
            self.proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def tail(self) -> str:
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join(f"  {self.name}| {line}" for line in lines[-LOG_TAIL:])


class Airflow:
    def __init__(self, home: Path, env: dict[str, str], port: int):
        self.home, self.env, self.port = home, env, port
        self.bin = Path(sys.executable).parent / "airflow"
        self.logs = home / "component-logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.components: list[Component] = []
        self.url = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @property
    def roots(self) -> list[int]:
        return [c.proc.pid for c in self.components]

    def migrate(self) -> None:
        with open(self.logs / "db-migrate.log", "wb") as out:
            p = subprocess.run([str(self.bin), "db", "migrate"], env=self.env, stdin=subprocess.DEVNULL,
                               stdout=out, stderr=subprocess.STDOUT)
        if p.returncode:
            tail = (self.logs / "db-migrate.log").read_text(errors="replace").splitlines()[-LOG_TAIL:]
            raise BenchError("airflow db migrate failed:\n" + "\n".join(tail))

    def start(self) -> None:
        a = str(self.bin)
        self.components += [
            Component("api-server", [a, "api-server", "--host", "127.0.0.1", "--port", str(self.port)],
                      self.env, self.logs),
            # The log server the scheduler would start listens on every interface; task logs are
            # files under AIRFLOW_HOME, which the API server reads directly.
            Component("scheduler", [a, "scheduler", "--skip-serve-logs"], self.env, self.logs),
            Component("dag-processor", [a, "dag-processor"], self.env, self.logs),
        ]

    def check_alive(self) -> None:
        for c in self.components:
            if c.proc.poll() is not None:
                raise BenchError(f"airflow {c.name} exited with {c.proc.returncode}:\n{c.tail()}")

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, {"detail": e.read().decode(errors="replace")}

    def wait_ready(self) -> None:
        """Until the API server, the scheduler and the dag-processor are healthy and the DAG is
        parsed (unpaused, no import errors)."""
        deadline = time.monotonic() + READY_TIMEOUT
        waiting_for = "the API server"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                status, health = self.api("GET", "/api/v2/monitor/health")
                if status == 200 and all(health.get(k, {}).get("status") == "healthy"
                                         for k in ("metadatabase", "scheduler", "dag_processor")):
                    waiting_for = f"the DAG {DAG_ID} to be parsed"
                    _, errors = self.api("GET", "/api/v2/importErrors")
                    if errors.get("total_entries"):
                        raise BenchError("the DAG folder has import errors:\n" + "\n".join(
                            f"{e.get('filename')}: {e.get('stack_trace')}" for e in errors["import_errors"]))
                    status, dag = self.api("GET", f"/api/v2/dags/{DAG_ID}")
                    if status == 200 and not dag.get("is_paused"):
                        return
                elif status == 200:
                    waiting_for = f"healthy components ({json.dumps(health)})"
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise BenchError(f"Airflow was not ready within {READY_TIMEOUT:.0f} s: waited for {waiting_for}\n"
                         + "\n".join(c.tail() for c in self.components))

    def stop(self) -> None:
        """SIGTERM to each component's process group, SIGKILL to what is left after the grace
        period (process groups and any descendant that left them)."""
        if not self.components:
            return
        tree = descendants(self.roots)
        started = {pid: st[19] for pid, st in tree.items()}  # starttime: guards against pid reuse
        for c in self.components:
            if c.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(c.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for c in self.components:
            try:
                c.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                progress(f"airflow {c.name} still running after {STOP_GRACE:.0f} s: killing it")
        for c in self.components:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(c.proc.pid, signal.SIGKILL)
            if c.proc.poll() is None:
                c.proc.wait()
        for pid, starttime in started.items():
            st = proc_stat(pid)
            if st and st[19] == starttime and st[0] != "Z":
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        self.components = []


# ---------------------------------------------------------------------------------------------
# The runs


def parse_ts(value: str | None) -> float | None:
    """A metadata DB timestamp (UTC) as a Unix time."""
    if not value:
        return None
    dt = datetime.fromisoformat(value)
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()


class Runner:
    def __init__(self, airflow: Airflow, conf: dict, poll_ms: float, run_timeout: float):
        self.airflow, self.conf = airflow, conf
        self.poll, self.run_timeout = poll_ms / 1000, run_timeout
        self.db = sqlite3.connect(f"file:{airflow.home}/airflow.db?mode=ro", uri=True, timeout=5,
                                  isolation_level=None)
        self.nonce = secrets.token_hex(3)

    def run(self, label: str) -> dict:
        run_id = f"bench_{label}_{self.nonce}"
        roots = self.airflow.roots
        cpu0 = cpu_seconds(roots)
        wall0, t0 = time.time(), time.monotonic()
        status, body = self.airflow.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns",
                                        {"dag_run_id": run_id, "logical_date": None, "conf": self.conf})
        rtt = time.monotonic() - t0
        if status != 200:
            raise BenchError(f"triggering {DAG_ID} answered {status}: {body}")
        state, deadline = None, t0 + self.run_timeout
        while True:
            row = self.db.execute("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?",
                                  (DAG_ID, run_id)).fetchone()
            t1 = time.monotonic()
            state = row[0] if row else None
            if state in ("success", "failed"):
                break
            if t1 > deadline:
                state = f"timeout (was {state})"
                break
            self.airflow.check_alive()
            time.sleep(self.poll)
        cpu1 = cpu_seconds(roots)
        return self.figures(run_id, state, wall0, (t1 - t0) * 1000, rtt * 1000, cpu1 - cpu0)

    def figures(self, run_id: str, state: str, wall0: float, ms: float, rtt_ms: float, cpu: float) -> dict:
        queued, end = self.db.execute(
            "SELECT queued_at, end_date FROM dag_run WHERE dag_id = ? AND run_id = ?", (DAG_ID, run_id)).fetchone()
        rel = lambda ts: None if parse_ts(ts) is None else round((parse_ts(ts) - wall0) * 1000, 1)  # noqa: E731
        tasks = []
        for task_id, ti_state, q, s, e, dur in self.db.execute(
                "SELECT task_id, state, queued_dttm, start_date, end_date, duration FROM task_instance "
                "WHERE dag_id = ? AND run_id = ? ORDER BY start_date IS NULL, start_date", (DAG_ID, run_id)):
            tasks.append({"task": task_id, "state": ti_state, "queuedMs": rel(q), "startMs": rel(s),
                          "endMs": rel(e), "ms": None if dur is None else round(dur * 1000, 1)})
        task_ms = sum(t["ms"] or 0 for t in tasks)
        return {
            "runId": run_id,
            "ms": round(ms, 1),
            "state": state,
            "dbMs": None if not (queued and end) else round((parse_ts(end) - parse_ts(queued)) * 1000, 1),
            "triggerRttMs": round(rtt_ms, 1),
            "taskMs": round(task_ms, 1),
            "gapMs": round(ms - task_ms, 1),
            "cpuSeconds": round(cpu, 3),
            "tasks": tasks,
        }


# ---------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="airflow-bench-"))
    port = free_port()
    env, overrides = airflow_env(home, port)
    airflow = Airflow(home, env, port)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        t_start = time.monotonic()
        progress(f"AIRFLOW_HOME {home}; API server http://127.0.0.1:{port}; migrating the SQLite DB")
        airflow.migrate()
        migrated = time.monotonic() - t_start
        progress(f"migrated in {migrated:.1f} s; starting api-server, scheduler, dag-processor")
        airflow.start()
        airflow.wait_ready()
        startup = time.monotonic() - t_start
        progress(f"ready in {startup:.1f} s (DAG {DAG_ID} parsed)")

        idle_cpu = None
        if a.idle_seconds > 0:
            c0 = cpu_seconds(airflow.roots)
            time.sleep(a.idle_seconds)
            airflow.check_alive()
            idle_cpu = cpu_seconds(airflow.roots) - c0
            progress(f"idle for {a.idle_seconds:.0f} s: {idle_cpu:.2f} CPU s")

        runner = Runner(airflow, a.conf, a.poll_ms, a.run_timeout)
        warmups = []
        for i in range(a.warmup):
            r = runner.run(f"w{i + 1}")
            warmups.append(r)
            progress(f"warm-up {i + 1}: {r['state']} in {r['ms'] / 1000:.2f} s (not counted)")
            if r["state"] != "success":
                raise BenchError(f"the warm-up run failed: {json.dumps(r)}")
        runs = []
        cpu0, t0 = cpu_seconds(airflow.roots), time.monotonic()
        for i in range(a.runs):
            r = runner.run(str(i + 1))
            runs.append(r)
            progress(f"run {i + 1}: {r['state']} in {r['ms'] / 1000:.2f} s (tasks {r['taskMs'] / 1000:.2f} s, "
                     f"between tasks {r['gapMs'] / 1000:.2f} s), {r['cpuSeconds']:.2f} CPU s")
            if r["state"].startswith("timeout"):
                break  # a stuck run would hold the next one (max_active_runs=1)
        cpu = cpu_seconds(airflow.roots) - cpu0
        window = time.monotonic() - t0

        out = {
            "runs": runs,
            "cpuSeconds": round(cpu, 3),
            "startupSeconds": round(startup, 3),
            "airflowVersion": metadata.version("apache-airflow"),
            "measuredSeconds": round(window, 3),
            "dbMigrateSeconds": round(migrated, 3),
            "idleSeconds": a.idle_seconds,
            "idleCpuSeconds": None if idle_cpu is None else round(idle_cpu, 3),
            "warmupRuns": [{"ms": r["ms"], "state": r["state"]} for r in warmups],
            "pollMs": a.poll_ms,
            "executor": env["AIRFLOW__CORE__EXECUTOR"],
            "config": overrides,
            "python": sys.version.split()[0],
            "nproc": os.cpu_count(),
        }
        print(json.dumps(out), flush=True)
        if all(r["state"] == "success" for r in runs):
            return 0
        a.keep_home = True  # for the task logs
        return 1
    except BenchError as e:
        progress(f"FAILED: {e}")
        a.keep_home = True
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        progress("stopping Airflow")
        airflow.stop()
        if a.keep_home:
            progress(f"kept AIRFLOW_HOME {home} (task logs in {home}/logs, components' in {airflow.logs})")
        else:
            subprocess.run(["rm", "-rf", str(home)], check=False)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
