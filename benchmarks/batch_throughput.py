"""Batch throughput of ``EditOffboardingOperator`` under the endpoint's rate limit.

Runs N edits (default 1,000) in one operator call against the emulator enforcing a limit on ``edit`` (default
200 per second: the documented 20/s scaled up tenfold so the run stays short), with the client configured to the
same limit. Prints the achieved rate as a share of the limit (goal: >= 95 %) and how many HTTP 429 answers the
emulator sent (goal: 0). The baseline, measured in the same run, is the same batch with both limits off: the
capacity of this machine, to show the limited run is paced by the limit and not by the machine.

    .venv/bin/python benchmarks/batch_throughput.py [--edits 1000] [--limit 200] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

from _airflow_home import use_temporary_airflow_home

use_temporary_airflow_home()


class _TaskInstance:
    """Receives the XCom push of a failed batch (direct ``execute`` call, no task runner)."""

    def xcom_push(self, key: str, value: Any) -> None:
        self.value = value


def _run(edits: int, limit: int | None, workers: int) -> dict[str, Any]:
    from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

    emulator_limits: Any = {"edit": (limit, 1.0)} if limit else "off"
    with FeishuEmulator(rate_limits=emulator_limits) as emu:
        conn = json.loads(emu.airflow_conn_json())
        conn["extra"] = {"rate_limits": {"edit": f"{limit}/1"} if limit else "off"}
        os.environ["AIRFLOW_CONN_FEISHU_BENCH"] = json.dumps(conn)
        records = [
            {
                "offboarding_id": emu.add_offboarding(employment_id=f"69300000000000{n:05d}"),
                "update_data": {"handover_note__c": f"bench {n}", "severance_months__c": n % 12},
            }
            for n in range(edits)
        ]
        operator = EditOffboardingOperator(
            task_id="bench", offboardings=records, max_workers=workers, feishu_conn_id="feishu_bench"
        )
        operator.hook.get_conn().fetch_token()  # token fetched before the clock starts
        started = time.perf_counter()
        report = operator.execute(cast("Context", {"ti": _TaskInstance()}))
        elapsed = time.perf_counter() - started
        return {
            "elapsed": elapsed,
            "rate": edits / elapsed,
            "edited": report["counts"]["edited"],
            "requests": emu.request_count("edit"),
            "http_429": emu.request_count("edit", http_status=429),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=200, help="edit requests per second on both sides")
    parser.add_argument("--workers", type=int, default=4, help="max_workers of the operator")
    args = parser.parse_args()

    baseline = _run(args.edits, None, args.workers)
    limited = _run(args.edits, args.limit, args.workers)
    share = limited["rate"] / args.limit
    print(f"edits per run: {args.edits}, max_workers: {args.workers}")
    print(
        f"baseline (no limit): {baseline['rate']:8.1f} edits/s in {baseline['elapsed']:6.2f} s "
        f"= {baseline['rate'] / args.limit:5.2f} x the limit (machine capacity)"
    )
    print(
        f"limited ({args.limit}/s):    {limited['rate']:8.1f} edits/s in {limited['elapsed']:6.2f} s "
        f"= {share:6.1%} of the limit (goal >= 95%)"
    )
    print(
        f"edited {limited['edited']}/{args.edits}, edit requests seen by the emulator {limited['requests']}, "
        f"HTTP 429 sent by the emulator: {limited['http_429']}"
    )


if __name__ == "__main__":
    main()
