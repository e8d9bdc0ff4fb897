"""``only_changed`` against writing everything: 1,000 corrections of which 10 % differ from what Feishu holds.

Both runs use the same records and the same corrections, each against a fresh emulator, in this one process. The
emulator and the client enforce the documented rate limits scaled up by ``--scale`` (default 10: edit 200/s,
search 1,000/min) so the run stays short; ``--scale 1`` gives the documented 20/s and 100/min. Printed per run:
requests per endpoint, wall time and the outcomes; then the ratios. The look-ups of ``only_changed`` must cost
about ceil(N/100) searches, not N.

    .venv/bin/python benchmarks/only_changed.py [--records 1000] [--differ 0.1] [--scale 10] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

from _airflow_home import use_temporary_airflow_home

use_temporary_airflow_home()

CURRENT: dict[str, Any] = {
    "handover_note__c": "Handover to the platform team",
    "severance_months__c": 2,
    "reason": "reason_personal",
}


def _run(records: int, differ: float, scale: int, workers: int, *, only_changed: bool) -> dict[str, Any]:
    from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

    limits = {"edit": (20 * scale, 1.0), "search": (100 * scale, 60.0)}
    with FeishuEmulator(rate_limits=limits) as emu:
        conn = json.loads(emu.airflow_conn_json())
        conn["extra"] = {"rate_limits": {"edit": f"{20 * scale}/1", "search": f"{100 * scale}/60"}}
        os.environ["AIRFLOW_CONN_FEISHU_BENCH"] = json.dumps(conn)
        every = round(1 / differ) if differ else records + 1
        corrections = []
        for n in range(records):
            employment = f"69400000000000{n:05d}"
            oid = emu.add_offboarding(employment_id=employment, **CURRENT)
            wanted = dict(CURRENT, handover_note__c=f"corrected {n}") if n % every == 0 else dict(CURRENT)
            corrections.append({"offboarding_id": oid, "employment_id": employment, "update_data": wanted})
        operator = EditOffboardingOperator(
            task_id="bench",
            offboardings=corrections,
            only_changed=only_changed,
            max_workers=workers,
            feishu_conn_id="feishu_bench",
        )
        operator.hook.get_conn().fetch_token()  # token fetched before the clock starts
        emu.reset_counters()
        started = time.perf_counter()
        value = operator.execute(cast("Context", {"ti": None}))
        elapsed = time.perf_counter() - started
        return {
            "elapsed": elapsed,
            "edit": emu.request_count("edit"),
            "search": emu.request_count("search"),
            "token": emu.request_count("token"),
            "http_429": emu.request_count(http_status=429),
            "counts": value["counts"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--differ", type=float, default=0.1)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if not 1 <= args.records <= 5000 or not 0 <= args.differ <= 1 or not 1 <= args.scale <= 100:
        parser.error("records 1-5000, differ 0-1, scale 1-100")

    everything = _run(args.records, args.differ, args.scale, args.workers, only_changed=False)
    changed = _run(args.records, args.differ, args.scale, args.workers, only_changed=True)
    print(
        f"{args.records} corrections, {args.differ:.0%} differ; limits edit {20 * args.scale}/s, search "
        f"{100 * args.scale}/min; {args.workers} workers"
    )
    for name, run in (("write everything", everything), ("only_changed", changed)):
        print(
            f"  {name:17} edit requests {run['edit']:5}  search requests {run['search']:3}  "
            f"429s {run['http_429']}  wall {run['elapsed']:6.2f} s  outcomes {run['counts']}"
        )
    expected_searches = math.ceil(args.records / 100)
    print(f"  searches of only_changed: {changed['search']} (ceil({args.records}/100) = {expected_searches})")
    requests_all = everything["edit"] + everything["search"]
    requests_changed = changed["edit"] + changed["search"]
    print(
        f"  only_changed sends {requests_changed / requests_all:.1%} of the requests and takes "
        f"{changed['elapsed'] / everything['elapsed']:.1%} of the wall time of writing everything"
    )


if __name__ == "__main__":
    main()
