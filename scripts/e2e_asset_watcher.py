"""End to end: the offboarding asset watcher in a real Airflow 3 (triggerer, scheduler, DAG processor, API server).

``dag.test()`` does not run asset watchers, so this starts the real components on a temporary SQLite home, with
``example_dags/example_feishu_on_offboarded.py`` as the only DAG and the Feishu emulator as ``feishu_default``:

1. an offboarding dated today (Beijing time) waits as ``Approved``; the watcher's first polls remember it;
2. the emulator's control API sets it to ``Offboarded``: exactly one run of ``example_feishu_on_offboarded``
   follows, its asset event carries the record, its task returns the deprovisioning of that record;
3. a second triggerer runs beside the first (HA): further polls add no run;
4. the triggerer running the watcher stops, a second offboarding becomes ``Offboarded``: the other triggerer
   takes the watcher over and makes exactly one more run, none for the first offboarding (the memory is in
   Airflow 3.3's ``asset_state_store``);
5. the first triggerer starts again and the second stops: the watcher moves back; still no new run;
6. bursts: 1, 3, 50 and 500 offboardings become ``Offboarded`` between two polls (control API, right after a
   poll, so one poll sees them all): every record of every burst is handled by a successful run, with no record
   handled twice; the figures (asset events, runs, records handled, seconds from the burst to the last record
   handled) are printed as a table (docs/events.md, "A burst in one poll").

Run: ``.venv/bin/python scripts/e2e_asset_watcher.py`` (about 4-6 minutes; exit status 0 when every check holds).
``KEEP_E2E_HOME=1`` keeps the temporary folder (logs of every component are in ``<tmp>/logs``).
"""

from __future__ import annotations

import datetime as dt
import json
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
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAG_FILE = REPO / "example_dags" / "example_feishu_on_offboarded.py"
DAG_ID = "example_feishu_on_offboarded"
POLL_SECONDS = 3
BURSTS = (1, 3, 50, 500)
PAGES = -(-(2 + sum(BURSTS)) // 100)
"""Search pages (requests) of one poll: the window holds 2 + the bursts' records, 100 a page."""
BURST_TIMEOUT = 90.0
"""Seconds a burst's records have to be handled; a record not handled by then is reported (and fails the run)."""
SEARCH_RATE = "6000/60"
"""The connection's and the emulator's search limit: 500 records are 6 pages, and a poll of 3 s reads all of them
(at the documented 100 a minute, a 3 s poll may read one page: a burst would be spread over a sweep)."""
BEIJING = dt.timezone(dt.timedelta(hours=8))


def say(text: str) -> None:
    print(f"[e2e {time.strftime('%H:%M:%S')}] {text}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """The Airflow components, each in its own process group, output to ``<work>/logs/<name>.log``."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work = work
        self.env = env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        (work / "logs").mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *args: str) -> None:
        log = open(self.work / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [str(BIN / "airflow"), *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = self.work / "logs" / f"{name}.log"
                raise SystemExit(f"FAILED: airflow {name} exited with {proc.returncode}; see {log}")

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def wait_for(what: str, check: Any, stack: Stack, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        result = check()
        if result:
            return result
        time.sleep(1)
    raise SystemExit(f"FAILED: timed out after {timeout:.0f}s waiting for {what}; logs in {stack.work}/logs")


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=30) as conn:
        return list(conn.execute(sql, params).fetchall())


def runs(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "SELECT id, run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id", DAG_ID)


def live_triggerers(db: Path) -> set[int]:
    rows = query(db, "SELECT id FROM job WHERE job_type = 'TriggererJob' AND end_date IS NULL AND state = 'running'")
    return {row[0] for row in rows}


def owner(db: Path) -> int | None:
    """The triggerer job that runs the watcher's trigger (the one trigger row linked to an asset)."""
    rows = query(db, "SELECT t.triggerer_id FROM trigger t JOIN asset_watcher w ON w.trigger_id = t.id")
    return rows[0][0] if rows else None


def payload_records(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of one asset event's payload: a poll's ``records`` (0.x+1), or the payload itself (one record
    per event, before)."""
    if isinstance(payload.get("records"), list):
        shared = {k: payload.get(k) for k in ("observed_at", "user_id_type")}
        return [{**record, **shared} for record in payload["records"]]
    return [payload]


def run_records(db: Path, dag_run_id: int) -> list[dict[str, Any]]:
    rows = query(
        db,
        "SELECT e.extra FROM asset_event e JOIN dagrun_asset_event d ON d.event_id = e.id WHERE d.dag_run_id = ?"
        " ORDER BY e.id",
        dag_run_id,
    )
    return [record for (extra,) in rows for record in payload_records(json.loads(extra)["payload"])]


def events_since(db: Path, event_id: int) -> list[tuple[int, dict[str, Any]]]:
    """Asset events after ``event_id``: (id, payload)."""
    rows = query(db, "SELECT id, extra FROM asset_event WHERE id > ? ORDER BY id", event_id)
    return [(row_id, json.loads(extra)["payload"]) for row_id, extra in rows]


def handled(db: Path) -> dict[str, list[str]]:
    """Offboarding id -> the successful runs whose task returned its deprovisioning (from their XComs)."""
    found: dict[str, list[str]] = {}
    for (run_id,) in query(db, "SELECT run_id FROM dag_run WHERE dag_id = ? AND state = 'success'", DAG_ID):
        for item in task_result(db, run_id) or ():
            found.setdefault(item["offboarding_id"], []).append(run_id)
    return found


def polled(emulator: Any, searches: int) -> Any:
    """A check: the emulator served at least ``searches`` searches."""
    return lambda: emulator.request_count("search") >= searches


def between_polls(emulator: Any, stack: Stack) -> None:
    """Return right after a poll: the search count rose and then stayed still for 0.6 s."""
    start = emulator.request_count("search")
    wait_for("the next poll", lambda: emulator.request_count("search") > start, stack, 60)
    count, still = emulator.request_count("search"), time.monotonic()
    while time.monotonic() - still < 0.6:
        time.sleep(0.05)
        if emulator.request_count("search") != count:
            count, still = emulator.request_count("search"), time.monotonic()


def burst(db: Path, emulator: Any, stack: Stack, ids: list[str]) -> dict[str, Any]:
    """Move ``ids`` to ``Offboarded`` between two polls; wait until every one is handled by a successful run (or
    :data:`BURST_TIMEOUT`); the figures."""
    last_event = (query(db, "SELECT max(id) FROM asset_event")[0][0]) or 0
    last_run = (query(db, "SELECT max(id) FROM dag_run")[0][0]) or 0
    before = handled(db)
    between_polls(emulator, stack)
    searches = emulator.request_count("search")
    for offboarding_id in ids:
        emulator.set_status(offboarding_id, "Offboarded")
    moved = time.monotonic()
    wanted = set(ids)
    done_at: float | None = None
    while time.monotonic() - moved < BURST_TIMEOUT:
        stack.check_alive()
        now = handled(db)
        if wanted <= set(now):
            done_at = time.monotonic() - moved
            break
        time.sleep(0.5)
    time.sleep(POLL_SECONDS * 2)  # a duplicate or a late run would show now
    now = handled(db)
    events = events_since(db, last_event)
    records = [r for _, payload in events for r in payload_records(payload) if r["offboarding_id"] in wanted]
    new_runs = query(db, "SELECT id, run_id, state FROM dag_run WHERE dag_id = ? AND id > ?", DAG_ID, last_run)
    return {
        "records": len(ids),
        "events": len(events),
        "polls": len({r.get("observed_at") for r in records}),
        "runs": len(new_runs),
        "handled": len(wanted & set(now)),
        "handled_twice": sorted(i for i in wanted if len(now.get(i, [])) > 1 or i in before),
        "seconds": None if done_at is None else round(done_at, 1),
        "searches": emulator.request_count("search") - searches,
    }


def task_result(db: Path, run_id: str) -> Any:
    rows = query(
        db,
        "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = 'return_value'",
        DAG_ID,
        run_id,
    )
    return json.loads(rows[0][0]) if rows else None


def main() -> int:
    sys.path.insert(0, str(REPO))
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

    work = Path(tempfile.mkdtemp(prefix="feishu-e2e-"))
    home, dags = work / "airflow", work / "dags"
    dags.mkdir(parents=True)
    shutil.copy(DAG_FILE, dags / DAG_FILE.name)
    api_port = free_port()
    limit, window = (int(part) for part in SEARCH_RATE.split("/"))
    emulator = FeishuEmulator(rate_limits={"search": (limit, window)}).start()
    conn = json.loads(emulator.airflow_conn_json())
    conn["extra"] = {**conn.get("extra", {}), "rate_limits": {"search": SEARCH_RATE}}
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API_AUTH__JWT_SECRET": "e2e-only-jwt-secret-" + os.urandom(8).hex(),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_FEISHU_DEFAULT": json.dumps(conn),
        "FEISHU_OFFBOARDED_POLL_SECONDS": str(POLL_SECONDS),
    }
    stack = Stack(work, env)
    db = home / "airflow.db"
    ok = False
    try:
        say(f"airflow db migrate (AIRFLOW_HOME={home})")
        subprocess.run(
            [str(BIN / "airflow"), "db", "migrate"],
            env=env,
            check=True,
            stdout=open(work / "logs" / "migrate.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            timeout=300,
        )
        today = dt.datetime.now(BEIJING).date().isoformat()
        first, second = (
            emulator.add_offboarding(employment_id=employment, status="Approved", offboarding_date=today)
            for employment in ("6982509313466180001", "6982509313466180002")
        )
        say(f"emulator at {emulator.base_url}; offboardings {first} and {second} are Approved, dated {today}")
        burst_ids = [
            [
                emulator.add_offboarding(
                    employment_id=f"69825093{size:04d}{n:07d}", status="Approved", offboarding_date=today
                )
                for n in range(size)
            ]
            for size in BURSTS
        ]
        say(f"{sum(BURSTS)} more offboardings Approved, dated {today}, for the bursts of {BURSTS}")

        for name, args in (
            ("api-server", ("api-server", "--port", str(api_port), "--workers", "1")),
            ("dag-processor", ("dag-processor",)),
            ("scheduler", ("scheduler",)),
            ("triggerer-a", ("triggerer",)),
        ):
            stack.start(name, *args)
        say("started api-server, dag-processor, scheduler, triggerer-a; waiting for the watcher's first polls")
        wait_for("two polls of the watcher", lambda: emulator.request_count("search") >= 2 * PAGES, stack, 240)
        job_a = owner(db)
        stack.start("triggerer-b", "triggerer")
        job_b = wait_for("triggerer-b's heartbeat", lambda: live_triggerers(db) - {job_a}, stack, 120).pop()
        say(f"triggerer-a (job {job_a}) runs the watcher; triggerer-b (job {job_b}) started for HA")

        emulator.set_status(first, "Offboarded")
        say(f"control API: {first} -> Offboarded")
        wait_for("a successful run", lambda: [r for r in runs(db) if r[2] == "success"], stack, 180)
        time.sleep(POLL_SECONDS * 4)
        found = runs(db)
        assert len(found) == 1, f"expected exactly one run, got {found}"
        run_pk, run_id, _ = found[0]
        records = run_records(db, run_pk)
        assert [(r["offboarding_id"], r["status"]) for r in records] == [(first, "Offboarded")], records
        assert records[0]["employment_id"] == "6982509313466180001" and records[0]["offboarding_date"] == today
        result = task_result(db, run_id)
        assert result and result[0]["offboarding_id"] == first, result
        say(f"one run {run_id}; the record of its asset event {json.dumps(records[0])}")
        say(f"task returned {json.dumps(result)}")

        stack.stop("triggerer-a")
        emulator.set_status(second, "Offboarded")
        say(f"triggerer-a stopped; control API: {second} -> Offboarded; triggerer-b must take the watcher over")
        wait_for("a second successful run", lambda: len([r for r in runs(db) if r[2] == "success"]) >= 2, stack, 240)
        assert owner(db) == job_b, f"the watcher should run on triggerer-b (job {job_b}), runs on {owner(db)}"
        searches = emulator.request_count("search")
        wait_for("three polls on triggerer-b", polled(emulator, searches + 3 * PAGES), stack, 120)
        found = runs(db)
        assert len(found) == 2, f"expected exactly two runs after the hand-over, got {found}"
        records = run_records(db, found[1][0])
        assert [(r["offboarding_id"], r["status"]) for r in records] == [(second, "Offboarded")], records
        say(f"hand-over to triggerer-b: one more run {found[1][1]} for {second} only; no duplicate for {first}")

        stack.start("triggerer-a", "triggerer")
        stack.stop("triggerer-b")
        say("triggerer-a started again, triggerer-b stopped: the watcher moves back to a restarted triggerer")
        wait_for("the watcher on triggerer-a again", lambda: owner(db) not in (None, job_b), stack, 180)
        searches = emulator.request_count("search")
        wait_for("three polls after the restart", polled(emulator, searches + 3 * PAGES), stack, 120)
        time.sleep(POLL_SECONDS * 2)
        found = runs(db)
        assert len(found) == 2, f"expected still two runs after the restart, got {found}"
        stored = query(db, "SELECT key, value FROM asset_state_store")
        assert len(stored) == 1 and json.loads(stored[0][1])["seen"] == {first: "Offboarded", second: "Offboarded"}
        say(f"after the restart: still {len(found)} runs; asset_state_store key {stored[0][0]} holds both")

        figures = []
        for ids in burst_ids:
            say(f"burst: {len(ids)} offboarding(s) -> Offboarded between two polls")
            figures.append(burst(db, emulator, stack, ids))
            say(f"  {json.dumps(figures[-1])}")
        say(
            "| records in one poll | asset events | polls | DAG runs | records handled | handled twice | "
            "seconds to the last record handled |"
        )
        for f in figures:
            say(
                f"| {f['records']} | {f['events']} | {f['polls']} | {f['runs']} | {f['handled']} | "
                f"{len(f['handled_twice'])} | {f['seconds']} |"
            )
        failed = [f for f in figures if f["handled"] != f["records"] or f["handled_twice"]]
        assert not failed, f"records not handled, or handled twice: {failed}"
        stored = query(db, "SELECT value FROM asset_state_store")
        assert len(json.loads(stored[0][0])["seen"]) == 2 + sum(BURSTS), "the memory should hold every record"
        ok = True
        say(
            "PASSED: each transition produced exactly one DAG run, with two triggerers, a hand-over and a restart;"
            " every record of every burst was handled once"
        )
        return 0
    finally:
        stack.stop_all()
        emulator.stop()
        if ok and os.environ.get("KEEP_E2E_HOME") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"files kept in {work}")


if __name__ == "__main__":
    sys.exit(main())
