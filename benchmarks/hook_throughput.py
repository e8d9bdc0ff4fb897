"""Sequential edit throughput through ``FeishuHook`` relative to a bare ``requests.Session`` with a fixed token.

One run, one emulator (its own process, rate limits off, so the server's Python does not share a GIL with the
client): the same edit call is made ``--calls`` times through a bare ``requests.Session`` (token fetched once,
``json=`` body, ``resp.json()`` checked) and through the hook (connection from ``AIRFLOW_CONN_*``, client-side
limiter off, token cache, retry policy, typed result). The two are interleaved in ``--rounds`` rounds so drift
on a shared machine hits both alike (the order alternates per round). Prints both rates and their ratio (goal:
>= 0.9), and the client process's CPU time per edit of each (less sensitive to other load on the machine).

    .venv/bin/python benchmarks/hook_throughput.py [--calls 4000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="feishu-bench-"))
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

OFFBOARDING_ID = "7095671727698478604"
FIELD = {"field_name": "offboarding_date", "value": "2026-12-31"}


def start_emulator() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start the emulator CLI in its own process and read its JSON line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_feishu_corehr.testing", "--rate-limit", "off", "--print-json-line"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    info: dict[str, Any] = json.loads(process.stdout.readline())
    return process, info


def bare_session(base_url: str, conn: dict[str, Any]) -> Any:
    """A plain requests.Session call with a fixed token: the baseline."""
    import requests

    session = requests.Session()
    token_url = f"{base_url}/open-apis/auth/v3/tenant_access_token/internal"
    token = session.post(token_url, json={"app_id": conn["login"], "app_secret": conn["password"]}).json()
    headers = {"Authorization": f"Bearer {token['tenant_access_token']}"}
    url = f"{base_url}/open-apis/corehr/v2/offboardings/edit?user_id_type=people_corehr_id"
    payload = {"offboarding_id": OFFBOARDING_ID, "update_data": [FIELD]}

    def call() -> None:
        response = session.post(url, json=payload, headers=headers, timeout=30)
        if response.json()["code"] != 0:
            raise RuntimeError("edit failed")

    return call


def through_hook(conn: dict[str, Any]) -> Any:
    """The same edit through FeishuHook (the client the hook builds from the connection)."""
    from airflow_provider_feishu_corehr.client.models import FieldValue
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    os.environ["AIRFLOW_CONN_FEISHU_BENCH"] = json.dumps({**conn, "extra": {"rate_limits": "off"}})
    hook = FeishuHook(feishu_conn_id="feishu_bench")
    update = [FieldValue(**FIELD)]

    def call() -> None:
        hook.edit_offboarding(OFFBOARDING_ID, update)

    return call


def timed(call: Any, n: int) -> tuple[float, float]:
    """Wall-clock and client-process CPU seconds of ``n`` calls."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        call()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000, help="edits per variant (default 4000)")
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    args = parser.parse_args()

    process, info = start_emulator()
    try:
        conn = json.loads(info["conn_json"])
        bare, hook = bare_session(info["base_url"], conn), through_hook(conn)
        timed(bare, 200)  # warm-up: connections, imports, token
        timed(hook, 200)
        per_round = max(1, args.calls // args.rounds)
        totals = {"bare": [0.0, 0.0], "hook": [0.0, 0.0]}
        for round_number in range(args.rounds):
            order = [("bare", bare), ("hook", hook)]
            for name, call in order[:: -1 if round_number % 2 else 1]:  # alternate which variant goes first
                wall, cpu = timed(call, per_round)
                totals[name][0] += wall
                totals[name][1] += cpu
        total = per_round * args.rounds
        bare_rate, hook_rate = total / totals["bare"][0], total / totals["hook"][0]
        bare_cpu, hook_cpu = (totals[name][1] / total * 1000 for name in ("bare", "hook"))
        print(f"edits per variant:            {total} (sequential, {args.rounds} interleaved rounds)")
        print(f"bare requests.Session:        {bare_rate:8.1f} edits/s   client CPU {bare_cpu:.3f} ms/edit")
        print(f"FeishuHook:                   {hook_rate:8.1f} edits/s   client CPU {hook_cpu:.3f} ms/edit")
        print(f"ratio hook / bare:            {hook_rate / bare_rate:8.3f}   (goal >= 0.9)")
        print(f"client CPU ratio bare / hook: {bare_cpu / hook_cpu:8.3f}   (same, less sensitive to a busy machine)")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
