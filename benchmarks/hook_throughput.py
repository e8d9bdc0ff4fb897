"""Sequential edit throughput through ``FeishuHook`` relative to a bare ``requests.Session`` with a fixed token.

One run, one emulator (its own process, rate limits off, so the server's Python does not share a GIL with the
client): the same edit call is made ``--calls`` times through a bare ``requests.Session`` (token fetched once,
``json=`` body, ``resp.json()`` checked) and through the hook (connection from ``AIRFLOW_CONN_*``, client-side
limiter off, token cache, retry policy, typed result). The two are interleaved in ``--rounds`` rounds so drift
on a shared machine hits both alike (the order alternates per round). Prints both rates and their ratio (goal:
>= 0.9), and the client process's CPU time per edit of each (less sensitive to other load on the machine).
Then, against an emulator with the documented limits and the hook's default client-side limiter, the share of
the documented 20 edits/s a sequential caller reaches (goal >= 95 %) and how many 429 answers it got (goal 0).

    .venv/bin/python benchmarks/hook_throughput.py [--calls 4000] [--rounds 20] [--paced 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from _airflow_home import use_temporary_airflow_home

use_temporary_airflow_home()

OFFBOARDING_ID = "7095671727698478604"
FIELD = {"field_name": "offboarding_date", "value": "2026-12-31"}


def start_emulator(*options: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start the emulator CLI in its own process and read its JSON line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_feishu_corehr.testing", *options, "--print-json-line"],
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


def through_hook(conn: dict[str, Any], conn_id: str = "feishu_bench", extra: dict[str, Any] | None = None) -> Any:
    """The same edit through FeishuHook (the client the hook builds from the connection)."""
    from airflow_provider_feishu_corehr.client.models import FieldValue
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    extra = {"rate_limits": "off"} if extra is None else extra
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({**conn, "extra": extra})
    hook = FeishuHook(feishu_conn_id=conn_id)
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


def paced_share(calls: int) -> None:
    """Sequential edits through the hook with the documented limits on both sides: share of 20/s, 429 count."""
    import urllib.request

    process, info = start_emulator()  # documented limits: edit 20 per 1 s
    try:
        hook = through_hook(json.loads(info["conn_json"]), conn_id="feishu_paced", extra={})
        hook()  # token, connection
        started = time.perf_counter()
        for _ in range(calls):
            hook()
        rate = calls / (time.perf_counter() - started)
        with urllib.request.urlopen(f"{info['base_url']}/_emulator/requests") as response:
            seen = json.load(response)["requests"]
        limited = sum(1 for r in seen if r["http_status"] == 429)
        share = f"{rate / 20:.1%} of the documented 20/s (goal >= 95%)"
        print(f"paced by the client limiter:  {rate:8.2f} edits/s = {share}")
        print(f"HTTP 429 answers:             {limited} of {len(seen)} requests (goal 0)")
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000, help="edits per variant (default 4000)")
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    parser.add_argument("--paced", type=int, default=100, help="edits under the documented limit (default 100)")
    args = parser.parse_args()

    process, info = start_emulator("--rate-limit", "off")
    try:
        conn = json.loads(info["conn_json"])
        bare, hook = bare_session(info["base_url"], conn), through_hook(conn)
        timed(bare, 200)  # warm-up: connections, imports, token
        timed(hook, 200)
        per_round = max(1, args.calls // args.rounds)
        totals = {"bare": [0.0, 0.0], "hook": [0.0, 0.0]}
        round_ratios = []
        for round_number in range(args.rounds):
            order = [("bare", bare), ("hook", hook)]
            walls = {}
            for name, call in order[:: -1 if round_number % 2 else 1]:  # alternate which variant goes first
                wall, cpu = timed(call, per_round)
                walls[name] = wall
                totals[name][0] += wall
                totals[name][1] += cpu
            round_ratios.append(walls["bare"] / walls["hook"])
        total = per_round * args.rounds
        bare_rate, hook_rate = total / totals["bare"][0], total / totals["hook"][0]
        bare_cpu, hook_cpu = (totals[name][1] / total * 1000 for name in ("bare", "hook"))
        print(f"edits per variant:            {total} (sequential, {args.rounds} interleaved rounds)")
        print(f"bare requests.Session:        {bare_rate:8.1f} edits/s   client CPU {bare_cpu:.3f} ms/edit")
        print(f"FeishuHook:                   {hook_rate:8.1f} edits/s   client CPU {hook_cpu:.3f} ms/edit")
        print(f"ratio hook / bare:            {hook_rate / bare_rate:8.3f}   (goal >= 0.9)")
        print(f"median of per-round ratios:   {statistics.median(round_ratios):8.3f}   (robust to bursts of load)")
        print(f"client CPU ratio bare / hook: {bare_cpu / hook_cpu:8.3f}   (same, less sensitive to a busy machine)")
    finally:
        process.terminate()
        process.wait(timeout=10)
    if args.paced:
        paced_share(args.paced)


if __name__ == "__main__":
    main()
