"""The waiting part of scripts/demo.sh: the emulator's clock, not the demo, brings the record to Offboarded.

Standard library only::

    demo_wait.py prepare <base_url> <offboarding_id> <file> [--lead S]
        stop the emulator's calendar S tenant seconds (default 60) before the end of the record's offboarding
        date (it becomes Offboarded at that midnight, tenant time) and note the search count in <file>
    demo_wait.py run <base_url> <file> [--speed F] [--timeout S]
        once the waiting DAG's sensor has searched (it saw the record not yet Offboarded), run the calendar F
        times faster than real time (default 6: a minute in 10 s) and wait until the clock has moved the record
        to Offboarded; add what happened to <file> for ``demo_summary.py report --wait <file>``

Nothing here sets a status: the status changes because the emulator's calendar passes the offboarding date.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

POLL = 0.2


def call(url: str, payload: dict[str, Any] | None = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def searches(base_url: str) -> int:
    return int(call(f"{base_url}/_emulator/state")["requests"].get("search", 0))


def prepare(base_url: str, offboarding_id: str, file: Path, lead: float) -> None:
    record = call(f"{base_url}/_emulator/offboardings/{offboarding_id}")
    date = record["offboarding_info"]["offboarding_date"]
    end_of_day = datetime.strptime(date, "%Y-%m-%d") + timedelta(days=1)  # midnight ending the date, tenant time
    stop_at = (end_of_day - timedelta(seconds=lead)).strftime("%Y-%m-%d %H:%M:%S")
    clock = call(f"{base_url}/_emulator/clock", {"set": stop_at, "speed": 0})
    note = {
        "offboarding_id": offboarding_id,
        "status_before": record["status"],
        "offboarding_date": date,
        "clock_stopped_at": clock["tenant_time"],
        "timezone": clock["timezone"],
        "searches_before": searches(base_url),
    }
    file.write_text(json.dumps(note), encoding="utf-8")
    print(
        f"   emulator clock stopped at {clock['tenant_time']} ({clock['timezone']}), {lead:g} s before the end of "
        f"{date}, the offboarding date of {offboarding_id} ({record['status']})"
    )


def _wait(what: str, done: Any, timeout: float) -> float:
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > timeout:
            raise SystemExit(f"FAILED: {what} within {timeout:g} s")
        time.sleep(POLL)
    return time.monotonic() - start


def run(base_url: str, file: Path, speed: float, timeout: float) -> None:
    note = json.loads(file.read_text(encoding="utf-8"))
    offboarding_id = note["offboarding_id"]
    _wait("the sensor did not search", lambda: searches(base_url) > note["searches_before"], timeout)
    seen = call(f"{base_url}/_emulator/offboardings/{offboarding_id}")["status"]
    call(f"{base_url}/_emulator/clock", {"speed": speed})
    print(f"   the sensor searched and saw {seen}; the emulator clock now runs {speed:g}x real time")

    def offboarded() -> bool:
        return bool(call(f"{base_url}/_emulator/offboardings/{offboarding_id}")["status"] == "Offboarded")

    waited = _wait("the emulator clock did not offboard the record", offboarded, timeout)
    moves = call(f"{base_url}/_emulator/transitions")["transitions"]
    [move] = [m for m in moves if m["offboarding_id"] == offboarding_id and m["to"] == "Offboarded"]
    note.update(status_seen=seen, speed=speed, real_seconds=round(waited, 1), transition=move)
    file.write_text(json.dumps(note), encoding="utf-8")
    print(
        f"   {offboarding_id}: {move['from']} -> Offboarded by the emulator clock ({move['cause']}) at tenant time "
        f"{move['tenant_time']}, {waited:.1f} s of real time after the clock started"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="demo_wait.py")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("base_url")
    p.add_argument("offboarding_id")
    p.add_argument("file", type=Path)
    p.add_argument("--lead", type=float, default=60.0)
    p = sub.add_parser("run")
    p.add_argument("base_url")
    p.add_argument("file", type=Path)
    p.add_argument("--speed", type=float, default=6.0)
    p.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.base_url, args.offboarding_id, args.file, args.lead)
    else:
        run(args.base_url, args.file, args.speed, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
