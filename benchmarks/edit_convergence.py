"""Edits under ambiguous faults with real Airflow task retries: do 1,000 edits converge, and within how many tries?

One DAG with one ``EditOffboardingOperator`` (``retries=3``, no retry delay, direct mode: no ``only_changed``) is run
by ``dag.test()`` on a real SQLite metadata database, against the emulator (a real HTTP server in this process)
injecting ambiguous faults into a share of the edit requests: answers lost after the write was applied (HTTP 500,
a connection reset, ``late_apply``: held past the client's timeout, then applied) and answers lost without the
write (HTTP 503, an HTML 502 page, a truncated JSON body); the same share of searches gets HTTP 503 or a reset.
Printed per fault rate: the tries used and the task's state; per try its mode, outcome counts, searches and edits
sent; the records written more than once (edits the emulator applied, counted per record); and the records whose
final value (the emulator's state) is not the intended one, which must be 0.

    .venv/bin/python benchmarks/edit_convergence.py [--records 1000] [--rates 0.05,0.10] [--scale 10] [--seed 18]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

from _airflow_home import use_temporary_airflow_home

use_temporary_airflow_home()
HOME = Path(os.environ["AIRFLOW_HOME"])
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(HOME / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
(HOME / "dags").mkdir(parents=True, exist_ok=True)

CURRENT: dict[str, Any] = {"handover_note__c": "Handover to the platform team", "severance_months__c": 2}
# (kind, parameters, whether the emulator applies the write): every one is ambiguous for an edit.
EDIT_FAULTS: list[tuple[str, dict[str, Any], bool]] = [
    ("http_500", {"after_processing": True}, True),
    ("reset", {"after_processing": True}, True),
    ("late_apply", {"seconds": 1.5}, True),
    ("http_503", {}, False),
    ("html_502", {}, False),
    ("bad_json", {}, False),
]
APPLIED = {kind for kind, _, applied in EDIT_FAULTS if applied}
TIMEOUT = 1.0

DAG_FILE = '''
"""Benchmark DAG (benchmarks/edit_convergence.py): one edit batch with retries=3; each try's report to a file."""
import json, os, urllib.request
from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

TRIES = os.environ["FEISHU_BENCH_TRIES"]


def _requests_so_far():
    url = os.environ["FEISHU_BENCH_URL"] + "/_emulator/state"
    with urllib.request.urlopen(url) as answer:
        return sum(json.load(answer)["requests"].values())


def _write(line):
    with open(TRIES, "a") as out:
        out.write(json.dumps(line) + "\\n")


class TriedEdit(EditOffboardingOperator):
    """The edit, writing at each try the index of its first request and its report's counts."""

    def execute(self, context):
        number = context["ti"].try_number
        self.pushed = None
        _write({"try": number, "first_request": _requests_so_far()})
        try:
            value = super().execute(context)
        except BaseException:
            value = self.pushed
            raise
        finally:
            if value is not None:
                _write({"try": number, "mode": value["mode"], "counts": value["counts"]})
        return value

    def _push(self, context, value):
        self.pushed = value
        super()._push(context, value)


with DAG(dag_id="feishu_edit_convergence", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
         catchup=False) as dag:
    with open(os.environ["FEISHU_BENCH_RECORDS"]) as records:
        TriedEdit(task_id="edit", offboardings=json.load(records), feishu_conn_id="feishu_bench", max_workers=4,
                  retries=3, retry_delay=timedelta(0))
'''


def _run(records: int, rate: float, scale: int, seed: int, work: Path) -> dict[str, Any]:
    from airflow.utils.session import create_session

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

    limits = {"edit": (20 * scale, 1.0), "search": (100 * scale, 60.0)}
    with FeishuEmulator(rate_limits=limits, random_seed=seed) as emu:
        conn = json.loads(emu.airflow_conn_json())
        conn["extra"] = {
            "rate_limits": {"edit": f"{20 * scale}/1", "search": f"{100 * scale}/60"},
            "timeout": TIMEOUT,
            "backoff_base": 0.05,
            "backoff_max": 0.5,
        }
        corrections: list[dict[str, Any]] = []
        for n in range(records):
            employment = f"69500000000000{n:05d}"
            oid = emu.add_offboarding(employment_id=employment, **CURRENT)
            wanted = {"handover_note__c": f"corrected {n}", "severance_months__c": 3 + n % 5}
            corrections.append({"offboarding_id": oid, "employment_id": employment, "update_data": wanted})
        (work / "records.json").write_text(json.dumps(corrections))
        tries_file = work / f"tries-{rate}.jsonl"
        os.environ.update(
            AIRFLOW_CONN_FEISHU_BENCH=json.dumps(conn),
            FEISHU_BENCH_URL=emu.base_url,
            FEISHU_BENCH_RECORDS=str(work / "records.json"),
            FEISHU_BENCH_TRIES=str(tries_file),
        )
        share = rate / len(EDIT_FAULTS)
        for kind, params, _ in EDIT_FAULTS:
            emu.inject_fault("edit", kind, ratio=share, **params)
        for kind in ("http_503", "reset"):
            emu.inject_fault("search", kind, ratio=rate / 2)
        emu.reset_counters()

        dag_path = HOME / "dags" / "feishu_edit_convergence.py"
        dag_path.write_text(textwrap.dedent(DAG_FILE))
        namespace: dict[str, Any] = {"__name__": "feishu_edit_convergence", "__file__": str(dag_path)}
        exec(compile(dag_path.read_text(), str(dag_path), "exec"), namespace)  # as the tests' run_dag loads it
        dag_run = namespace["dag"].test()
        with create_session() as session:
            ti = next(t for t in dag_run.get_task_instances(session=session) if t.task_id == "edit")
            state, tries = str(ti.state), ti.try_number
        requests = emu.requests
        lines = [json.loads(line) for line in tries_file.read_text().splitlines()]
        starts = [*sorted(line["first_request"] for line in lines if "first_request" in line), len(requests)]
        per_try = []
        for number, (begin, end) in enumerate(itertools.pairwise(starts), start=1):
            window = requests[begin:end]
            report: dict[str, Any] = next((line for line in lines if line["try"] == number and "counts" in line), {})
            per_try.append(
                {
                    "try": number,
                    "mode": report.get("mode"),
                    "counts": {k: v for k, v in report.get("counts", {}).items() if v},
                    "search": sum(1 for r in window if r.endpoint == "search"),
                    "edit": sum(1 for r in window if r.endpoint == "edit"),
                }
            )
        applied = Counter(
            r.offboarding_id
            for r in requests
            if r.endpoint == "edit" and ((r.fault is None and r.code == 0) or r.fault in APPLIED)
        )
        wrong = 0
        for record in corrections:
            held = emu.record(record["offboarding_id"])
            wanted = record["update_data"]
            if (held["handover_note__c"], str(held["severance_months__c"])) != (
                wanted["handover_note__c"],
                str(wanted["severance_months__c"]),
            ):
                wrong += 1
        return {
            "state": state,
            "tries": tries,
            "per_try": per_try,
            "faults": sum(1 for r in requests if r.endpoint == "edit" and r.fault),
            "written_twice": sum(1 for n in applied.values() if n > 1),
            "not_written": records - len(applied),
            "wrong": wrong,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--rates", default="0.05,0.10")
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    if not 1 <= args.records <= 5000 or not all(0 <= r <= 0.5 for r in rates) or not 1 <= args.scale <= 100:
        parser.error("records 1-5000, rates 0-0.5, scale 1-100")

    from airflow.utils import db

    db.initdb()
    print(
        f"{args.records} edits, direct mode, retries=3 (dag.test, SQLite); ambiguous faults on edits "
        f"({', '.join(k for k, _, _ in EDIT_FAULTS)}) and searches; limits edit {20 * args.scale}/s"
    )
    failed = False
    for rate in rates:
        with tempfile.TemporaryDirectory() as work:
            run = _run(args.records, rate, args.scale, args.seed, Path(work))
        print(
            f"  {rate:.0%} faults ({run['faults']} edit requests faulted): task {run['state']} after "
            f"{run['tries']} tr{'y' if run['tries'] == 1 else 'ies'}"
        )
        for t in run["per_try"]:
            sent = f"searches {t['search']}, edits sent {t['edit']}"
            print(f"    try {t['try']}: mode {t['mode']}, {sent}, {t['counts']}")
        print(
            f"    records written more than once: {run['written_twice']}; never written: {run['not_written']}; "
            f"final value not the intended one: {run['wrong']}"
        )
        failed = failed or run["wrong"] > 0 or run["state"] != "success"
    if failed:
        raise SystemExit("some records do not hold the intended values, or the task did not succeed")


if __name__ == "__main__":
    main()
