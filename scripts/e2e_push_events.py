"""End to end: the pushed offboarding watcher in a real Airflow 3, and the polling one on the same workload.

Each watcher gets its own deployment: a real ``airflow api-server``, ``dag-processor``, ``scheduler`` and
``triggerer`` on a temporary SQLite home with one example DAG, and the Feishu emulator as a separate process
(``python -m airflow_provider_feishu_corehr.testing``), driven through its control API over HTTP, loopback only.

Push (``example_dags/example_feishu_offboarding_push.py``, the emulator's long connection):

1. one status change (control API) produces exactly one DAG run within :data:`FIRST_RUN_BOUND` seconds;
2. the workload (below): every change handled once; while connected the emulator serves no search (the only
   searches are the reconciliations, counted in the triggerer's log);
3. a duplicated event (the emulator's ``duplicate`` fault) fires once;
4. the triggerer is killed (SIGKILL, its whole process group) in the middle of a stream of changes and started
   again: every change of the stream is handled by a DAG run, none twice.

Poll (``example_dags/example_feishu_on_offboarded.py``, ``poll_interval`` :data:`POLL_SECONDS`): the same one change
and the same workload.

The workload: :data:`WORKLOAD` offboardings set to ``Offboarded`` one every :data:`GAP` seconds. The table printed
at the end compares, per watcher: events seen (asset events), DAG runs, records handled, seconds from each change
to the creation of the DAG run that handled it (p50, max), and the searches the emulator served from the first
change to the last record handled (docs/events.md, "Measured on a real deployment").

Run: ``.venv/bin/python scripts/e2e_push_events.py`` (about 8-10 minutes; ``--watcher push`` or ``poll`` for one;
exit status 0 when every check holds). ``KEEP_E2E_HOME=1`` keeps the temporary folders (logs in ``<tmp>/logs``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from e2e_asset_watcher import BIN, REPO, Stack, free_port, query, say, wait_for

BEIJING = dt.timezone(dt.timedelta(hours=8))
WATCHERS = {
    "push": ("example_feishu_offboarding_push.py", "example_feishu_offboarding_push"),
    "poll": ("example_feishu_on_offboarded.py", "example_feishu_on_offboarded"),
}
POLL_SECONDS = 30
"""The polling watcher's interval here (its default is 300 s: its delays scale with it)."""
WORKLOAD = 12
GAP = 5.0
"""The workload: ``WORKLOAD`` changes, one every ``GAP`` seconds."""
STREAM = 12
"""Changes of the stream the triggerer is killed in (after the half), one every ``GAP`` seconds."""
FIRST_RUN_BOUND = 5.0
SETTLE = 90.0
"""Seconds a phase's records have to be handled (a bound, not an expectation)."""
EMULATOR_ARGS = ("--port", "0", "--print-json-line", "--rate-limit", "search=6000/60")
"""Loopback (the CLI's default host), any free port; a search limit both watchers stay far below."""
LONG_CONNECTION = {"ack_timeout": 3, "retry_delays": [15, 300, 3600, 21600]}
"""The emulator's delivery settings: Feishu's retry schedule (api-facts.md, "Long connection")."""


class Emulator:
    """The emulator as a separate process and its control API (HTTP, standard library)."""

    def __init__(self, work: Path) -> None:
        log = open(work / "logs" / "emulator.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_feishu_corehr.testing", *EMULATOR_ARGS],
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        self.info = json.loads(self.proc.stdout.readline())
        self.base_url: str = self.info["base_url"]

    def call(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_emulator/{path}", data=data, method="GET" if data is None else "POST"
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def searches(self) -> int:
        return int(self.call("state")["requests"].get("search", 0))

    def add(self, employment_id: str, offboarding_date: str) -> str:
        body = {"employment_id": employment_id, "status": "Approved", "offboarding_date": offboarding_date}
        return str(self.call("offboardings", body)["offboarding_id"])

    def offboard(self, offboarding_id: str) -> float:
        """Set ``Offboarded`` (what Feishu's calendar does on the offboarding date); the wall-clock time of it."""
        at = time.time()
        self.call(f"offboardings/{offboarding_id}/status", {"status": "Offboarded"})
        return at

    def connections(self) -> list[dict[str, Any]]:
        return list(self.call("connections")["connections"])

    def deliveries(self, offboarding_id: str) -> list[dict[str, Any]]:
        return [e for e in self.call("events")["events"] if e["event"]["event"].get("offboarding_id") == offboarding_id]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


def epoch(text: str) -> float:
    """A UTC timestamp as SQLite stores Airflow's (``2026-12-05 08:07:47.866000``, maybe with an offset)."""
    value = dt.datetime.fromisoformat(text.replace(" ", "T"))
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


class Deployment:
    """One Airflow deployment with one example DAG and its emulator."""

    def __init__(self, watcher: str) -> None:
        self.watcher = watcher
        dag_file, self.dag_id = WATCHERS[watcher]
        self.work = Path(tempfile.mkdtemp(prefix=f"feishu-e2e-{watcher}-"))
        home, dags = self.work / "airflow", self.work / "dags"
        dags.mkdir(parents=True)
        (self.work / "logs").mkdir()
        shutil.copy(REPO / "example_dags" / dag_file, dags / dag_file)
        self.db = home / "airflow.db"
        self.emulator = Emulator(self.work)
        self.emulator.call("long-connection", LONG_CONNECTION)
        conn = json.loads(self.emulator.info["conn_json"])
        conn["extra"] = {**conn.get("extra", {}), "rate_limits": {"search": "6000/60"}}
        api_port = free_port()
        self.api_port = api_port
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API_AUTH__JWT_SECRET": "e2e-only-jwt-secret-" + os.urandom(8).hex(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW_CONN_FEISHU_DEFAULT": json.dumps(conn),
            "FEISHU_OFFBOARDED_POLL_SECONDS": str(POLL_SECONDS),
        }
        self.stack = Stack(self.work, self.env)
        self.today = dt.datetime.now(BEIJING).date().isoformat()
        self.serial = 0
        self.changed: dict[str, float] = {}

    def new_records(self, count: int) -> list[str]:
        ids = []
        for _ in range(count):
            self.serial += 1
            ids.append(self.emulator.add(f"69825093134{self.serial:08d}", self.today))
        return ids

    def start(self) -> None:
        say(f"[{self.watcher}] airflow db migrate (AIRFLOW_HOME={self.env['AIRFLOW_HOME']})")
        with open(self.work / "logs" / "migrate.log", "wb") as log:
            subprocess.run(
                [str(BIN / "airflow"), "db", "migrate"], env=self.env, check=True, stdout=log, stderr=subprocess.STDOUT
            )
        for name, args in (
            ("api-server", ("api-server", "--port", str(self.api_port), "--workers", "1")),
            ("dag-processor", ("dag-processor",)),
            ("scheduler", ("scheduler",)),
            ("triggerer", ("triggerer",)),
        ):
            self.stack.start(name, *args)

    def kill_triggerer(self) -> None:
        """SIGKILL to the triggerer's whole process group (supervisor and trigger runner): no clean shutdown."""
        proc = self.stack.procs.pop("triggerer")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def offboard(self, offboarding_id: str) -> None:
        self.changed[offboarding_id] = self.emulator.offboard(offboarding_id)

    def handled(self) -> dict[str, list[tuple[str, float]]]:
        """Offboarding id -> (run id, run created) of each successful run whose task returned its deprovisioning."""
        found: dict[str, list[tuple[str, float]]] = {}
        rows = query(
            self.db,
            "SELECT r.run_id, r.queued_at, x.value FROM dag_run r JOIN xcom x ON x.dag_id = r.dag_id AND"
            " x.run_id = r.run_id AND x.key = 'return_value' WHERE r.dag_id = ? AND r.state = 'success'",
            self.dag_id,
        )
        for run_id, queued_at, value in rows:
            for item in json.loads(value) or ():
                found.setdefault(item["offboarding_id"], []).append((run_id, epoch(queued_at)))
        return found

    def counts(self) -> tuple[int, int]:
        """(asset events, DAG runs) so far."""
        events = query(self.db, "SELECT count(*) FROM asset_event")[0][0]
        runs = query(self.db, "SELECT count(*) FROM dag_run WHERE dag_id = ?", self.dag_id)[0][0]
        return int(events), int(runs)

    def until_handled(self, ids: list[str], what: str) -> dict[str, list[tuple[str, float]]]:
        """Wait until every one of ``ids`` was handled by a successful run (at most :data:`SETTLE` s)."""

        def check() -> dict[str, list[tuple[str, float]]] | None:
            handled = self.handled()
            return handled if set(ids) <= set(handled) else None

        result: dict[str, list[tuple[str, float]]] = wait_for(what, check, self.stack, SETTLE)
        return result

    def reconciliations(self) -> tuple[int, int]:
        """(reconciliations, their searches) as the push watcher logged them (triggerer output and trigger logs)."""
        count = searches = 0
        for path in (self.work / "logs").rglob("*"):
            if not path.is_file():
                continue
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if "reconciliation read" in line and " search(es)" in line:
                    count += 1
                    searches += int(line.split(" search(es)")[0].rsplit(" ", 1)[-1])
        home_logs = Path(self.env["AIRFLOW_HOME"]) / "logs"
        for path in home_logs.rglob("*") if home_logs.is_dir() else ():
            if path.is_file() and "trigger" in str(path):
                for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                    if "reconciliation read" in line and "search(es)" in line:
                        count += 1
                        searches += int(line.split(" search(es)")[0].rsplit(" ", 1)[-1])
        return count, searches

    def close(self, ok: bool) -> None:
        self.stack.stop_all()
        self.emulator.stop()
        if ok and os.environ.get("KEEP_E2E_HOME") != "1":
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            say(f"[{self.watcher}] files kept in {self.work}")


def delays(d: Deployment, ids: list[str], handled: dict[str, list[tuple[str, float]]]) -> list[float]:
    return [handled[i][0][1] - d.changed[i] for i in ids]


def once(d: Deployment, ids: list[str], handled: dict[str, list[tuple[str, float]]]) -> None:
    twice = {i: handled[i] for i in ids if len(handled.get(i, ())) != 1}
    assert not twice, f"[{d.watcher}] records not handled exactly once: {twice}"


def first_change(d: Deployment) -> float:
    """One change: exactly one DAG run; the seconds from the change to its creation."""
    (oid,) = d.new_records(1)
    time.sleep(GAP)  # the record is now in the memory's baseline (reconciled or polled as Approved) for either
    _, runs_before = d.counts()
    d.offboard(oid)
    handled = d.until_handled([oid], "the first change's run")
    time.sleep(GAP)  # a second run would show now
    _, runs_after = d.counts()
    assert runs_after - runs_before == 1, f"[{d.watcher}] expected one DAG run, got {runs_after - runs_before}"
    once(d, [oid], handled)
    (seconds,) = delays(d, [oid], handled)
    say(f"[{d.watcher}] one change -> one DAG run, created {seconds:.2f} s after the change")
    return seconds


def workload(d: Deployment) -> dict[str, Any]:
    """:data:`WORKLOAD` changes :data:`GAP` s apart; the figures."""
    ids = d.new_records(WORKLOAD)
    time.sleep(GAP)
    events0, runs0 = d.counts()
    searches0 = d.emulator.searches()
    start = time.time()
    for oid in ids:
        d.offboard(oid)
        time.sleep(GAP)
    handled = d.until_handled(ids, "the workload's records")
    searches = d.emulator.searches() - searches0
    elapsed = time.time() - start
    time.sleep(GAP)
    handled = d.handled()
    once(d, ids, handled)
    events, runs = d.counts()
    seconds = delays(d, ids, handled)
    figures = {
        "watcher": d.watcher,
        "changes": len(ids),
        "asset_events": events - events0,
        "dag_runs": runs - runs0,
        "handled": sum(1 for i in ids if i in handled),
        "p50": round(statistics.median(seconds), 2),
        "max": round(max(seconds), 2),
        "searches": searches,
        "elapsed": round(elapsed, 1),
    }
    say(f"[{d.watcher}] workload: {json.dumps(figures)}")
    return figures


def duplicate(d: Deployment) -> None:
    """The emulator pushes one event twice (same event id, two messages): one record, one run."""
    (oid,) = d.new_records(1)
    time.sleep(GAP)
    _, runs0 = d.counts()
    d.emulator.call("events/faults", {"kind": "duplicate", "copies": 2, "count": 1})
    d.offboard(oid)
    handled = d.until_handled([oid], "the duplicated event's run")
    time.sleep(3 * GAP)
    handled = d.handled()
    once(d, [oid], handled)
    _, runs = d.counts()
    sent = [a for e in d.emulator.deliveries(oid) for a in e["attempts"] if a["result"] in ("acked", "sent")]
    assert len(sent) >= 2, f"the emulator should have pushed the event twice: {d.emulator.deliveries(oid)}"
    assert runs - runs0 == 1, f"[push] a duplicated event: expected one run, got {runs - runs0}"
    say(f"[push] duplicated event ({len(sent)} pushes, one event id): handled once, one DAG run")


def kill_mid_stream(d: Deployment) -> dict[str, Any]:
    """SIGKILL the triggerer after half of a stream of changes, keep changing, start it again."""
    ids = d.new_records(STREAM)
    time.sleep(2 * GAP)
    searches0 = d.emulator.searches()
    for n, oid in enumerate(ids):
        if n == STREAM // 2:
            d.kill_triggerer()
            killed = time.time()
            say(f"[push] triggerer killed (SIGKILL) after {n} changes of {STREAM}")
        if n == STREAM // 2 + 3:
            d.stack.start("triggerer", "triggerer")
            say(f"[push] triggerer started again, {time.time() - killed:.0f} s after the kill")
        d.offboard(oid)
        time.sleep(GAP)
    handled = d.until_handled(ids, "every change of the stream")
    time.sleep(20)  # Feishu's retry of the events pushed to no connection (15 s) arrives now: must not fire
    handled = d.handled()
    once(d, ids, handled)
    figures = {
        "changes": STREAM,
        "handled": sum(1 for i in ids if i in handled),
        "handled_twice": sum(1 for i in ids if len(handled.get(i, ())) > 1),
        "max": round(max(delays(d, ids, handled)), 1),
        "searches": d.emulator.searches() - searches0,
    }
    say(f"[push] kill mid-stream: {json.dumps(figures)}")
    return figures


def kill_after_memory_write(d: Deployment) -> dict[str, Any]:
    """The riskiest moment: SIGKILL the triggerer as soon as its memory (``asset_state_store``) holds a change,
    start it again; the change must still be handled, once. Whether the asset event was already stored at the
    kill is reported: with the memory written before the event was stored, the change would be lost."""
    (oid,) = d.new_records(1)
    time.sleep(GAP)
    like = f"%{oid}%"
    d.offboard(oid)
    deadline = time.monotonic() + SETTLE
    while not query(d.db, "SELECT 1 FROM asset_state_store WHERE value LIKE ?", like):
        assert time.monotonic() < deadline, "the memory never held the change"
        time.sleep(0.02)
    d.kill_triggerer()
    stored = bool(query(d.db, "SELECT 1 FROM asset_event WHERE extra LIKE ?", like))
    say(f"[push] triggerer killed (SIGKILL) as its memory took the change; its asset event stored then: {stored}")
    reconciled = d.reconciliations()[0]
    d.stack.start("triggerer", "triggerer")
    wait_for("the restarted triggerer's reconciliation", lambda: d.reconciliations()[0] > reconciled, d.stack, SETTLE)
    handled = d.until_handled([oid], "the change remembered at the kill")
    time.sleep(GAP)
    handled = d.handled()
    once(d, [oid], handled)
    figures = {"event_stored_at_kill": stored, "handled": len(handled[oid])}
    say(f"[push] kill after the memory write: {json.dumps(figures)}")
    return figures


def run(watcher: str) -> dict[str, Any]:
    d = Deployment(watcher)
    ok = False
    try:
        d.start()
        if watcher == "push":
            wait_for("the long connection", d.emulator.connections, d.stack, 240)
            # done when logged: the memory read first (the first asset-state access of a triggerer starts Airflow's
            # in-process API, seconds on a busy machine, while pushed events wait)
            wait_for("the first reconciliation", lambda: d.reconciliations()[0] >= 1, d.stack, 120)
        else:
            wait_for("two polls", lambda: d.emulator.searches() >= 2, d.stack, 240)
        say(f"[{watcher}] deployment up; emulator at {d.emulator.base_url}")
        result: dict[str, Any] = {"first": first_change(d)}
        searches0 = d.emulator.searches()
        result["workload"] = workload(d)
        if watcher == "push":
            duplicate(d)
            connected = d.emulator.searches() - searches0
            reconciled = d.reconciliations()
            say(f"[push] searches while connected (workload, duplicate): {connected}; reconciliations {reconciled}")
            assert connected == 0, f"[push] searches while connected: {connected}"
            result["kill"] = kill_mid_stream(d)
            result["kill_after_memory"] = kill_after_memory_write(d)
            count, searches = d.reconciliations()
            total = d.emulator.searches()
            say(f"[push] searches in all: {total}; reconciliations logged: {count}, with {searches} search(es)")
            assert searches == total, "every search should be a reconciliation"
            result["reconciliations"] = (count, total)
        ok = True
        return result
    finally:
        d.close(ok)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--watcher", choices=("push", "poll", "both"), default="both")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    results = {w: run(w) for w in (("push", "poll") if args.watcher == "both" else (args.watcher,))}
    say(
        "| watcher | one change: s to its DAG run | changes | asset events | DAG runs | records handled | "
        "s from change to DAG run, p50 / max | searches |"
    )
    for w, r in results.items():
        f = r["workload"]
        say(
            f"| {w} | {r['first']:.1f} | {f['changes']} | {f['asset_events']} | {f['dag_runs']} | {f['handled']} | "
            f"{f['p50']:.1f} / {f['max']:.1f} | {f['searches']} |"
        )
    if "push" in results:
        k = results["push"]["kill"]
        say(f"kill mid-stream: {k}; reconciliations (count, all searches): {results['push']['reconciliations']}")
        say(f"kill after the memory write: {results['push']['kill_after_memory']}")
        assert results["push"]["first"] <= FIRST_RUN_BOUND, f"the first run took {results['push']['first']:.1f} s"
    say("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
