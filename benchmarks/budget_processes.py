"""One Feishu app, many processes: ten poke-mode sensors and four edit batches, each in its own process.

Against the emulator (its own process) enforcing the documented limits (search 100 per minute, edit 20 per
second), run twice in the same run:

* ``shared``: the connection says ``rate_limit_scope: host`` (one schedule for every process of the machine);
* ``per_process`` (baseline, the earlier behaviour): each process keeps its own schedule.

and a third time (issue 18: "deleted mid-run: the schedule split, 21 HTTP 429s, a peak of 32 edits/s"):

* ``host, deleted``: ``rate_limit_scope: host``; ``--delete-after`` seconds after the start the store file is
  deleted, and the second half of the batches starts one second later in new processes.

Printed per run: HTTP 429 answers per endpoint (goal with the shared budget: 0), failed edit records (goal 0),
edits per second reached by the batches together as a share of the app's 20/s (goal >= 90 %), the most edits the
server saw in any one second (the limit is 20), and the looks the sensors made.

    .venv/bin/python benchmarks/budget_processes.py [--sensors 10] [--batches 4] [--edits 150] [--duration 40]
        [--delete-after 5] [--runs host,process,deleted]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import tempfile
import time
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

from _airflow_home import use_temporary_airflow_home
from _emulator_process import EmulatorProcess

use_temporary_airflow_home()

CONN_ID = "feishu_bench"


def _sensor(conn_json: str, employment_id: str, duration: float, start: Any, out: Any) -> None:
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = conn_json
    from airflow.providers.common.compat.sdk import AirflowSensorTimeout

    from airflow_provider_feishu_corehr.sensors.offboarding import OffboardingStatusSensor

    sensor = OffboardingStatusSensor(
        task_id="wait",
        employment_id=employment_id,
        target_statuses="Approved",
        feishu_conn_id=CONN_ID,
        poke_interval=1.0,
        timeout=duration,
        max_consecutive_failures=10_000,
    )
    sensor.hook.get_conn().fetch_token()
    start.wait()
    with contextlib.suppress(AirflowSensorTimeout):  # the sensors run until their timeout
        sensor.execute(cast("Context", {}))
    out.put(("sensor", 0))


class _TaskInstance:
    def xcom_push(self, key: str, value: Any) -> None:
        self.value = value


def _batch(conn_json: str, offboarding_ids: list[str], start: Any, out: Any) -> None:
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = conn_json
    from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

    records = [
        {"offboarding_id": oid, "update_data": {"handover_note__c": f"bench {n}"}}
        for n, oid in enumerate(offboarding_ids)
    ]
    operator = EditOffboardingOperator(task_id="edit", offboardings=records, max_workers=4, feishu_conn_id=CONN_ID)
    operator.hook.get_conn().fetch_token()
    start.wait()
    ti = _TaskInstance()
    try:
        report = operator.execute(cast("Context", {"ti": ti}))
    except Exception:  # a batch with failed records raises after pushing its report
        report = getattr(ti, "value", {"counts": {}})
    counts = report.get("counts", {})
    out.put(("batch", len(offboarding_ids) - int(counts.get("edited", 0))))


def _peak(times: list[float], window: float = 1.0) -> int:
    """The most timestamps in any ``window`` seconds."""
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def _run(scope: str, args: argparse.Namespace, delete_after: float | None = None) -> dict[str, Any]:
    sensors = [f"69600000000{n:08d}" for n in range(args.sensors)]
    emu = EmulatorProcess(sensors, offboardings=args.batches * args.edits)
    try:
        conn = json.loads(emu.conn_json)
        store = os.path.join(tempfile.mkdtemp(prefix="feishu-budget-"), "budget.sqlite3")
        conn["extra"] = {"rate_limit_scope": scope, "rate_limit_store": store, "max_attempts": 5}
        conn_json = json.dumps(conn)
        ctx = multiprocessing.get_context("spawn")
        start, later, out = ctx.Event(), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_sensor, args=(conn_json, eid, args.duration, start, out)) for eid in sensors]
        ids = emu.edit_ids
        waves = [start if delete_after is None or i < args.batches // 2 else later for i in range(args.batches)]
        procs += [
            ctx.Process(target=_batch, args=(conn_json, ids[i * args.edits : (i + 1) * args.edits], waves[i], out))
            for i in range(args.batches)
        ]
        for proc in procs:
            proc.start()
        emu.reset()  # the warm-up token requests do not count
        start.set()
        if delete_after is not None:
            time.sleep(delete_after)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(store + suffix)
            time.sleep(1.0)
        later.set()
        results = [out.get(timeout=args.duration + 600) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
        counts = emu.counts()
        times = sorted(emu.edit_times())
    finally:
        emu.stop()
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return {
        "scope": scope if delete_after is None else f"{scope}, store deleted after {delete_after:g} s",
        "search_429": counts["search_429"],
        "edit_429": counts["edit_429"],
        "failed_records": sum(n for kind, n in results if kind == "batch"),
        "edits_per_s": round(rate, 2),
        "share_of_app_limit": round(rate / 20, 3),
        "peak_edits_in_1s": _peak(times),
        "searches": counts["search"] - counts["search_429"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sensors", type=int, default=10)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--edits", type=int, default=150, help="edits per batch")
    parser.add_argument("--duration", type=float, default=40.0, help="sensor timeout in seconds")
    parser.add_argument("--delete-after", type=float, default=5.0, help="seconds before the store is deleted")
    parser.add_argument("--runs", default="host,process,deleted", help="which runs, comma-separated")
    args = parser.parse_args()
    runs = args.runs.split(",")
    print(
        f"{args.sensors} poke sensors (1 s interval) and {args.batches} batches of {args.edits} edits, one process each"
    )
    results: dict[str, dict[str, Any]] = {}
    for run in runs:
        if run == "deleted":
            results[run] = _run("host", args, delete_after=args.delete_after)
        else:
            results[run] = _run(run, args)
        print(json.dumps(results[run]))
    if "host" in results and "process" in results:
        shared, baseline = results["host"], results["process"]
        print(
            f"goals: 429s with the shared budget {shared['search_429'] + shared['edit_429']} == 0 "
            f"(per-process baseline {baseline['search_429'] + baseline['edit_429']}); failed records "
            f"{shared['failed_records']} == 0 (baseline {baseline['failed_records']}); edit rate "
            f"{shared['share_of_app_limit']:.1%} of the app's 20/s >= 90 %"
        )
    if "deleted" in results:
        deleted = results["deleted"]
        print(
            f"store deleted mid-run: 429s {deleted['search_429'] + deleted['edit_429']} == 0; peak "
            f"{deleted['peak_edits_in_1s']} edits in one second <= 20; failed records {deleted['failed_records']} == 0"
        )


if __name__ == "__main__":
    main()
