"""End to end: one Feishu app's budget on a real CeleryExecutor deployment, Redis scope against host scope.

Starts, on loopback only and in a temporary folder: a ``redis-server`` (Celery's broker in database 0, the
Redis scope's schedule in database 1, Celery's results in database 2), the Feishu emulator in its own process
enforcing the documented limits (edit and revoke 20 per second, search 100 per minute), and Airflow 3.3 with
``CeleryExecutor``: an api-server, a scheduler, a dag-processor, a triggerer and three ``airflow celery worker``
processes. Every worker and the triggerer get their own ``feishu_default`` connection through
``AIRFLOW_CONN_FEISHU_DEFAULT`` in their own environment, as separate hosts would; with the host scope each has its
own ``rate_limit_store`` file, so the host scope alone cannot hold the app's limits.

One DAG (generated into the temporary DAG folder) runs the workload together:

* ``edit``: 4 mapped ``EditOffboardingOperator`` batches of 250 records (``--batches``, ``--edits``);
* ``poke``: 20 mapped poke-mode ``OffboardingStatusSensor`` (one employment each, 5 s poke interval);
* ``defer``: 500 mapped deferrable sensors, one employment each (``--deferrable``; ``--per-sensor`` gives each
  several employments), 30 s poke interval, in the triggerer.

The sensors wait for ``Approved``; the script moves their offboardings there once the edits are done, every
deferrable sensor has deferred and ``--hold`` seconds have passed since the run started, then waits for the run to
end. The DAG runs once per scope, in the same invocation, on the same stack: ``redis`` (``rate_limit_scope:
redis``, the Redis connection ``redis_budget``), then ``host`` (``rate_limit_scope: host``, a store file per
worker and one for the triggerer).
Printed per scope (and written to ``<tmp>/figures.json``): HTTP 429 answers, edits per second over the edit phase
against the 20/s limit, searches per minute while the sensors waited against the 100/min limit (mean and the most
in any 60 s), failed records, the task states, which worker ran each edit batch, and the wall time. The times
come from the emulator's request log, whose clock is the machine's monotonic clock (no ``advance_time`` here), so
the script's own marks (trigger, first deferral, release) are on the same clock.

Airflow's Celery provider and Celery are not in the project's lock: the script runs in ``.build/e2e-celery``, a
venv it builds with uv from ``requirements-lock.txt`` plus ``scripts/e2e-celery-requirements.txt`` (exact pins)
and the package (editable), and re-executes itself there. Needs ``redis-server`` on PATH (``scripts/bootstrap.sh``
installs it). Metadata database: SQLite (Airflow 3 accepts it with CeleryExecutor; the workers reach it only
through the api-server).

Run: ``python3 scripts/e2e_celery_budget.py`` (about 17 minutes on 2 cores; exit status 0 when every run ended and
the Redis scope's run met the issue's goals: it succeeded, no failed record, edits at 95 % of the limit or more;
its HTTP 429 answers are printed, not judged: on a starved machine a process that gets the CPU late may send one
request late, into the next request's window, and the 429 backstop retries it).
``KEEP_E2E_HOME=1`` keeps the temporary folder (logs of every component are in ``<tmp>/logs``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".build" / "e2e-celery"
REQUIREMENTS = REPO / "scripts" / "e2e-celery-requirements.txt"
LOCK = REPO / "requirements-lock.txt"
DAG_ID = "feishu_celery_budget"
WORKERS = ("worker-1", "worker-2", "worker-3")
EDIT_LIMIT = 20.0
"""Documented edit limit per second (the emulator enforces it)."""
SEARCH_LIMIT = 100
"""Documented search limit per minute (the emulator enforces it)."""
POKE_INTERVAL = 5
DEFER_INTERVAL = 30
RUN_TIMEOUT = 900.0
"""Seconds one scope's run may take from its trigger to its end before the script gives up on it."""


def say(text: str) -> None:
    print(f"[e2e-celery {time.strftime('%H:%M:%S')}] {text}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the venv --------------------------------------------------------------------------------------------------


def ensure_venv() -> None:
    """Run in ``.build/e2e-celery`` (built or re-synced with uv when the lock, the pins or pyproject changed)."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    stamp = VENV / ".e2e-stamp"
    want = hashlib.sha256(b"".join(p.read_bytes() for p in (LOCK, REQUIREMENTS, REPO / "pyproject.toml"))).hexdigest()
    if not python.exists() or not stamp.exists() or stamp.read_text() != want:
        uv = shutil.which("uv") or str(REPO / ".build" / "uv" / "bin" / "uv")
        if not Path(uv).exists():
            raise SystemExit("uv not found: run scripts/bootstrap.sh first (it installs uv in .build/uv)")
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_SYSTEM_CERTS": "1"}
        say(f"building {VENV} (requirements-lock.txt + {REQUIREMENTS.name} + the package)")
        if not python.exists():
            subprocess.run([uv, "venv", "-q", "--python", "python3.11", str(VENV)], check=True, env=env)
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(python), "-r", str(LOCK), "-r", str(REQUIREMENTS), "-e", "."],
            check=True,
            env=env,
            cwd=REPO,
        )
        stamp.write_text(want)
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


# --- the emulator in its own process ---------------------------------------------------------------------------


def _serve(pipe: Any, waiting: list[str], edits: int) -> None:
    """The emulator (documented limits): one ``Approving`` offboarding per waiting employment, ``edits`` more."""
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

    with FeishuEmulator(rate_limits=None) as emu:
        waiting_ids = [emu.add_offboarding(employment_id=eid, status="Approving") for eid in waiting]
        edit_ids = [emu.add_offboarding(employment_id=f"69400000000{n:08d}") for n in range(edits)]
        pipe.send({"conn": emu.airflow_conn_json(), "edit_ids": edit_ids})
        while True:
            command, arg = pipe.recv()
            if command == "requests":
                pipe.send(
                    [
                        (r.endpoint, r.http_status, r.code, r.at, r.offboarding_id)
                        for r in emu.requests
                        if r.endpoint in ("search", "edit", "revoke")
                    ]
                )
            elif command == "status":
                for oid in waiting_ids:
                    emu.set_status(oid, arg)
                pipe.send(True)
            elif command == "reset":
                emu.reset_counters()
                pipe.send(True)
            else:
                pipe.send(True)
                return


class Emulator:
    """The emulator in a child process, asked through a pipe."""

    def __init__(self, waiting: list[str], edits: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipe, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, waiting, edits), daemon=True)
        self._process.start()
        info = self._pipe.recv()
        self.conn: dict[str, Any] = json.loads(info["conn"])
        self.edit_ids: list[str] = info["edit_ids"]

    def ask(self, command: str, arg: Any = None) -> Any:
        """Send ``command`` (``requests``, ``status``, ``reset``, ``stop``) and return the answer."""
        self._pipe.send((command, arg))
        return self._pipe.recv()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()


# --- processes -------------------------------------------------------------------------------------------------


class Stack:
    """Processes started by the script, each in its own process group, output to ``<work>/logs/<name>.log``."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        (work / "logs").mkdir(parents=True, exist_ok=True)

    def log(self, name: str) -> Path:
        return self.work / "logs" / f"{name}.log"

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.log(name), "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.work
        )
        log.close()

    def stop(self, name: str, timeout: float = 60) -> None:
        """SIGTERM to the process (a Celery worker's warm shutdown), SIGKILL to what is left of its group."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"FAILED: {name} exited with {proc.returncode}; see {self.log(name)}")

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)


def wait_for(what: str, check: Any, stack: Stack, timeout: float, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        result = check()
        if result:
            return result
        time.sleep(every)
    raise SystemExit(f"FAILED: timed out after {timeout:.0f}s waiting for {what}; logs in {stack.work}/logs")


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        return list(conn.execute(sql, params).fetchall())


# --- the DAG ---------------------------------------------------------------------------------------------------

DAG_TEMPLATE = '''"""Generated by scripts/e2e_celery_budget.py: edits, poke and deferrable sensors of one app."""

import json
from pathlib import Path

import pendulum
from airflow.sdk import DAG

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator
from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

WORKLOAD = json.loads((Path(__file__).parent / "workload.json").read_text())

with DAG(
    "{dag_id}",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=512,
):
    EditOffboardingOperator.partial(task_id="edit", max_workers=4, retries=0).expand(
        offboardings=[
            [
                {{"offboarding_id": oid, "update_data": {{"handover_note__c": "{{{{ run_id }}}} " + str(n)}}}}
                for n, oid in enumerate(batch)
            ]
            for batch in WORKLOAD["batches"]
        ]
    )
    OffboardingStatusSensor.partial(
        task_id="poke",
        mode="poke",
        target_statuses="Approved",
        poke_interval={poke_interval},
        timeout={timeout},
        max_consecutive_failures=10_000,
        retries=0,
    ).expand(employment_id=WORKLOAD["poke"])
    OffboardingStatusSensor.partial(
        task_id="defer",
        deferrable=True,
        target_statuses="Approved",
        poke_interval={defer_interval},
        timeout={timeout},
        max_consecutive_failures=10_000,
        retries=0,
    ).expand(employment_ids=WORKLOAD["defer"])
'''


# --- figures ---------------------------------------------------------------------------------------------------


def most_in(times: list[float], window: float) -> int:
    """The most timestamps in any ``window`` seconds."""
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def fallbacks(work: Path, scope: str, run_id: str) -> int:
    """Logs of the run (task logs, the scope's triggerer and workers) where a process fell back to pacing alone."""
    home = work / "airflow" / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
    logs = [*home.rglob("*.log"), *(work / "logs").glob(f"{scope}-*.log")]
    return sum(b"rate-limit store" in path.read_bytes() and b"cannot be used" in path.read_bytes() for path in logs)


def figures(
    scope: str, emulator: Emulator, db: Path, run_id: str, mark: dict[str, float], edit_ids: list[str]
) -> dict[str, Any]:
    requests = emulator.ask("requests")
    edits = sorted(at for ep, status, code, at, _ in requests if ep == "edit" and status == 200 and code == 0)
    landed = {oid for ep, status, code, _, oid in requests if ep == "edit" and status == 200 and code == 0}
    searches = sorted(
        at
        for ep, status, _, at, _ in requests
        if ep == "search" and status == 200 and mark["defer_start"] <= at <= mark["release"]
    )
    sent = sorted(at for ep, *_, at, _ in requests if ep == "edit")
    searches_sent = [
        at for ep, *_, at, _ in requests if ep == "search" and mark["defer_start"] <= at <= mark["release"]
    ]
    edit_rate = (len(edits) - 1) / (edits[-1] - edits[0]) if len(edits) > 1 else 0.0
    sent_rate = (len(sent) - 1) / (sent[-1] - sent[0]) if len(sent) > 1 else 0.0
    waited = mark["release"] - mark["defer_start"]
    search_rate = len(searches) / waited * 60 if waited > 0 else 0.0
    states: dict[str, dict[str, int]] = {}
    for task_id, state, count in query(
        db,
        "SELECT task_id, state, count(*) FROM task_instance WHERE dag_id = ? AND run_id = ? GROUP BY 1, 2",
        DAG_ID,
        run_id,
    ):
        states.setdefault(task_id, {})[str(state)] = count
    placement: dict[str, list[str]] = {}
    for task_id, hostname in query(
        db,
        "SELECT task_id, hostname FROM task_instance WHERE dag_id = ? AND run_id = ? ORDER BY map_index",
        DAG_ID,
        run_id,
    ):
        placement.setdefault(task_id, []).append(hostname or "?")
    reported = 0
    for (value,) in query(
        db,
        "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'edit' AND key = 'return_value'",
        DAG_ID,
        run_id,
    ):
        report = json.loads(value) if isinstance(value, str | bytes) else value
        if isinstance(report, str):  # stored as a JSON string of JSON
            report = json.loads(report)
        reported += int(report.get("counts", {}).get("edited", 0))
    run = query(db, "SELECT state, start_date, end_date FROM dag_run WHERE run_id = ?", run_id)[0]
    return {
        "scope": scope,
        "run_state": run[0],
        "http_429": {
            ep: sum(1 for e, status, *_ in requests if e == ep and status == 429) for ep in ("search", "edit")
        },
        "edits_answered": len(edits),
        "edits_per_s": round(edit_rate, 2),
        "edit_share_of_limit": round(edit_rate / EDIT_LIMIT, 3),
        "most_edits_in_1s": most_in(edits, 1.0),
        "edit_requests_per_s": round(sent_rate, 2),
        "most_edit_requests_in_1s": most_in(sent, 1.0),
        "edit_phase_s": round(edits[-1] - edits[0], 1) if len(edits) > 1 else 0.0,
        "searches_while_waiting": len(searches),
        "waiting_s": round(waited, 1),
        "searches_per_min": round(search_rate, 1),
        "search_share_of_limit": round(search_rate / SEARCH_LIMIT, 3),
        "most_searches_in_60s": most_in(searches, 60.0),
        "search_requests_per_min": round(len(searches_sent) / waited * 60, 1) if waited > 0 else 0.0,
        "failed_records": len(set(edit_ids) - landed),
        "edited_in_reports": reported,
        "task_states": states,
        "edit_workers": placement.get("edit", []),
        "tasks_per_worker": {w: sum(h == w for hosts in placement.values() for h in hosts) for w in WORKERS},
        "wall_s": round(mark["end"] - mark["trigger"], 1),
        "logs_with_fallback": fallbacks(db.parent.parent, scope, run_id),
    }


# --- one scope -------------------------------------------------------------------------------------------------


def run_scope(
    scope: str,
    args: argparse.Namespace,
    stack: Stack,
    base_env: dict[str, str],
    emulator: Emulator,
    redis_url: str,
    db: Path,
) -> dict[str, Any]:
    """Start the triggerer and the workers with ``scope``'s connection, run the DAG once, stop them; the figures."""
    work = stack.work
    (work / "stores").mkdir(exist_ok=True)
    import redis

    redis.Redis.from_url(redis_url + "/1").flushdb()  # the Redis scope's schedule starts empty
    emulator.ask("status", "Approving")
    emulator.ask("reset")

    def conn_for(name: str) -> str:
        extra: dict[str, Any] = {"max_attempts": 5, "rate_limit_scope": scope}
        if scope == "redis":
            extra["rate_limit_redis_conn_id"] = "redis_budget"
        else:
            extra["rate_limit_store"] = str(work / "stores" / f"{scope}-{name}.sqlite3")
        return json.dumps({**emulator.conn, "extra": {**emulator.conn.get("extra", {}), **extra}})

    airflow = [str(VENV / "bin" / "airflow")]
    names = ["triggerer", *WORKERS]
    for name in names:
        env = {**base_env, "E2E_NODE": name, "AIRFLOW_CONN_FEISHU_DEFAULT": conn_for(name)}
        if name == "triggerer":
            env["AIRFLOW__TRIGGERER__TRIGGER_LOG_SERVER_PORT"] = str(free_port())
            stack.start(f"{scope}-triggerer", [str(VENV / "bin" / "airflow"), "triggerer"], env)
        else:
            env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(free_port())
            stack.start(
                f"{scope}-{name}",
                [
                    *airflow,
                    "celery",
                    "worker",
                    "--concurrency",
                    str(args.concurrency),
                    "--celery-hostname",
                    f"{name}@%h",
                ],
                env,
            )
    for name in WORKERS:
        log = stack.log(f"{scope}-{name}")
        wait_for(f"{name} ready", lambda log=log: b" ready." in log.read_bytes(), stack, 180)
    say(f"[{scope}] triggerer and {len(WORKERS)} Celery workers up; triggering {DAG_ID}")

    run_id = f"e2e-{scope}-{int(time.time())}"
    mark: dict[str, float] = {}
    t0 = time.monotonic()
    subprocess.run(
        [str(VENV / "bin" / "airflow"), "dags", "trigger", DAG_ID, "--run-id", run_id],
        env=base_env,
        check=True,
        stdout=open(stack.log(f"{scope}-trigger"), "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        timeout=120,
    )
    mark["trigger"] = time.monotonic()

    def states(task_id: str) -> list[str]:
        rows = query(
            db,
            "SELECT state FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ?",
            DAG_ID,
            run_id,
            task_id,
        )
        return [str(r[0]) for r in rows]

    done = {"success", "failed", "upstream_failed", "skipped"}
    all_deferred = False
    edits_done = False
    last = 0.0
    while True:
        stack.check_alive()
        elapsed = time.monotonic() - t0
        if elapsed > RUN_TIMEOUT:
            raise SystemExit(f"FAILED: [{scope}] the run did not reach the release in {RUN_TIMEOUT:.0f}s")
        edit, poke, defer = states("edit"), states("poke"), states("defer")
        if not edits_done and len(edit) == args.batches and all(s in done for s in edit):
            edits_done = True
            say(f"[{scope}] edit batches ended after {elapsed:.0f}s: {edit}")
        if not all_deferred and len(defer) == args.deferrable and all(s == "deferred" for s in defer):
            all_deferred = True
            say(f"[{scope}] all {len(defer)} deferrable sensors deferred after {elapsed:.0f}s")
        if "defer_start" not in mark and any(s == "deferred" for s in defer):
            mark["defer_start"] = time.monotonic()
        if time.monotonic() - last > 30:
            last = time.monotonic()
            say(f"[{scope}] {elapsed:.0f}s: edit {sorted(edit)}; poke {count(poke)}; defer {count(defer)}")
        if edits_done and all_deferred and elapsed >= args.hold:
            break
        time.sleep(2)
    mark["release"] = time.monotonic()
    emulator.ask("status", "Approved")
    say(f"[{scope}] released: the sensors' {args.poke + args.deferrable * args.per_sensor} offboardings -> Approved")

    def ended() -> str | None:
        rows = query(db, "SELECT state FROM dag_run WHERE run_id = ?", run_id)
        state = str(rows[0][0]) if rows else None
        return state if state in ("success", "failed") else None

    state = wait_for(f"the {scope} run to end", ended, stack, RUN_TIMEOUT - (time.monotonic() - t0) + 300, 2)
    mark["end"] = time.monotonic()
    say(f"[{scope}] run {run_id} ended {state} after {time.monotonic() - t0:.0f}s")
    for name in names:
        stack.stop(f"{scope}-{name}")
    return figures(scope, emulator, db, run_id, mark, emulator.edit_ids[: args.batches * args.edits])


def count(states: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for state in states:
        out[state] = out.get(state, 0) + 1
    return out


# --- main ------------------------------------------------------------------------------------------------------


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """The figures of each scope as a Markdown table, one column per scope."""
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("HTTP 429 (search / edit)", lambda r: f"{r['http_429']['search']} / {r['http_429']['edit']}"),
        (
            "edits answered per second, edit phase (goal >= 95 % of 20/s)",
            lambda r: f"{r['edits_per_s']} = {r['edit_share_of_limit']:.1%} ({r['edit_phase_s']} s)",
        ),
        (
            "edit requests sent per second, 429s included; most in one second",
            lambda r: f"{r['edit_requests_per_s']}; {r['most_edit_requests_in_1s']}",
        ),
        ("most edits answered in one second (limit 20)", lambda r: str(r["most_edits_in_1s"])),
        (
            "searches answered per minute while the sensors waited (limit 100)",
            lambda r: f"{r['searches_per_min']} = {r['search_share_of_limit']:.1%} ({r['waiting_s']} s)",
        ),
        ("most searches answered in any 60 s (limit 100)", lambda r: str(r["most_searches_in_60s"])),
        ("search requests sent per minute, 429s included", lambda r: str(r["search_requests_per_min"])),
        (
            f"failed records (goal 0) of {args.batches * args.edits}",
            lambda r: str(r["failed_records"]),
        ),
        ("edit batches per worker", lambda r: ", ".join(r["edit_workers"])),
        ("run state, wall time", lambda r: f"{r['run_state']}, {r['wall_s']} s"),
        ("logs where a process paced alone (store unusable)", lambda r: str(r["logs_with_fallback"])),
    ]
    out = ["| | " + " | ".join(f"`rate_limit_scope: {r['scope']}`" for r in results) + " |"]
    out.append("|---" * (len(results) + 1) + "|")
    for label, cell in rows:
        out.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=4, help="mapped edit batches (default 4)")
    parser.add_argument("--edits", type=int, default=250, help="records per edit batch (default 250)")
    parser.add_argument("--poke", type=int, default=20, help="mapped poke-mode sensors (default 20)")
    parser.add_argument("--deferrable", type=int, default=500, help="mapped deferrable sensors (default 500)")
    parser.add_argument("--per-sensor", type=int, default=1, help="employments per deferrable sensor (default 1)")
    parser.add_argument("--hold", type=float, default=240, help="seconds the sensors wait at least (default 240)")
    parser.add_argument("--concurrency", type=int, default=10, help="task slots per Celery worker (default 10)")
    parser.add_argument("--scopes", default="redis,host", help="scopes to run, in order (default redis,host)")
    args = parser.parse_args()
    ensure_venv()
    if not shutil.which("redis-server"):
        raise SystemExit("FAILED: redis-server not on PATH (scripts/bootstrap.sh installs it with apt-get)")
    sys.path.insert(0, str(REPO))

    work = Path(tempfile.mkdtemp(prefix="feishu-e2e-celery-"))
    home, dags, pylib = work / "airflow", work / "dags", work / "pylib"
    for folder in (home, dags, pylib):
        folder.mkdir(parents=True)
    stack = Stack(work)
    emulator: Emulator | None = None
    ok = False
    try:
        redis_port, api_port = free_port(), free_port()
        stack.start(
            "redis-server",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--dir", str(work)],
            dict(os.environ),
        )
        redis_url = f"redis://127.0.0.1:{redis_port}"
        import redis

        wait_for("redis-server", lambda: _ping(redis.Redis.from_url(redis_url)), stack, 30)

        poke_ids = [f"69600000000{n:08d}" for n in range(args.poke)]
        defer_ids = [f"69700000000{n:08d}" for n in range(args.deferrable * args.per_sensor)]
        emulator = Emulator(poke_ids + defer_ids, args.batches * args.edits)
        say(f"redis-server on {redis_port}; emulator at {emulator.conn['host']} (documented limits)")
        edit_ids = emulator.edit_ids
        workload = {
            "batches": [edit_ids[i * args.edits : (i + 1) * args.edits] for i in range(args.batches)],
            "poke": poke_ids,
            "defer": [defer_ids[i * args.per_sensor : (i + 1) * args.per_sensor] for i in range(args.deferrable)],
        }
        (dags / "workload.json").write_text(json.dumps(workload))
        (dags / f"{DAG_ID}.py").write_text(
            DAG_TEMPLATE.format(
                dag_id=DAG_ID,
                poke_interval=POKE_INTERVAL,
                defer_interval=DEFER_INTERVAL,
                timeout=int(args.hold + RUN_TIMEOUT),
            )
        )
        (dags / ".airflowignore").write_text("workload.json\n")
        (pylib / "e2e_node.py").write_text(
            '"""hostname_callable: the node name the script gave this process."""\nimport os\n\n\n'
            "def name():\n    return os.environ.get('E2E_NODE', 'node')\n"
        )
        base_env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(pylib), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "E2E_NODE": "control",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": "256",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "512",
            "AIRFLOW__CORE__DEFAULT_POOL_TASK_SLOT_COUNT": "512",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "e2e_node.name",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API_AUTH__JWT_SECRET": "e2e-only-jwt-secret-" + os.urandom(8).hex(),
            "AIRFLOW__CELERY__BROKER_URL": f"{redis_url}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"{redis_url}/2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_REDIS_BUDGET": f"{redis_url}/1",
        }
        db = home / "airflow.db"
        say(f"airflow db migrate (AIRFLOW_HOME={home})")
        subprocess.run(
            [str(VENV / "bin" / "airflow"), "db", "migrate"],
            env=base_env,
            check=True,
            stdout=open(stack.log("migrate"), "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            timeout=600,
        )
        for name, argv in (
            ("api-server", ["api-server", "--port", str(api_port), "--workers", "1"]),
            ("dag-processor", ["dag-processor"]),
            ("scheduler", ["scheduler"]),
        ):
            stack.start(name, [str(VENV / "bin" / "airflow"), *argv], base_env)
        wait_for(
            f"{DAG_ID} parsed",
            lambda: query(db, "SELECT 1 FROM serialized_dag WHERE dag_id = ?", DAG_ID) if db.exists() else None,
            stack,
            300,
            2,
        )
        say(
            f"api-server, dag-processor, scheduler up; {DAG_ID} parsed: {args.batches} edit batches of {args.edits},"
            f" {args.poke} poke sensors, {args.deferrable} deferrable sensors of {args.per_sensor} employments"
        )
        results = []
        for scope in args.scopes.split(","):
            results.append(run_scope(scope, args, stack, base_env, emulator, redis_url, db))
            say(f"[{scope}] {json.dumps(results[-1])}")
        (work / "figures.json").write_text(json.dumps(results, indent=2))
        for line in table(results, args):
            print(line, flush=True)
        redis_result = next((r for r in results if r["scope"] == "redis"), None)
        ok = all(r["run_state"] in ("success", "failed") for r in results)
        if redis_result is not None:
            goals = {
                "no failed record": redis_result["failed_records"] == 0,
                "edits >= 95 % of the limit": redis_result["edit_share_of_limit"] >= 0.95,
                "run succeeded": redis_result["run_state"] == "success",
            }
            say(f"redis scope goals: {goals}")
            ok = ok and all(goals.values())
        return 0 if ok else 1
    finally:
        stack.stop_all()
        if emulator is not None:
            emulator.stop()
        if ok and os.environ.get("KEEP_E2E_HOME") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"files kept in {work}")


def _ping(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


if __name__ == "__main__":
    sys.exit(main())
