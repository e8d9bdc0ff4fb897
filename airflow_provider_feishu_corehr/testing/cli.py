"""``python -m airflow_provider_feishu_corehr.testing``: run the emulator until Ctrl-C or SIGTERM.

Listens on 127.0.0.1:8765 by default (``--port 0`` picks a free port; 8080 is Airflow 3's api-server). Prints
the base URL and a ready ``AIRFLOW_CONN_FEISHU_DEFAULT=...`` line (the connection's secret is the
emulator's fake one). With ``--print-json-line`` the first line is one JSON object (``base_url``, ``port``,
``app_id``, ``conn_json``, ``conn_uri``, ``ca_path``) for scripts. With ``--tls`` the emulator serves HTTPS with a
certificate from a new test CA and prints the CA file's path (``ca_path``; the connection names it in ``ca_bundle``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing.cli_tenant import add_tenant_arguments, tenant_options
from airflow_provider_feishu_corehr.testing.emulator import FeishuEmulator
from airflow_provider_feishu_corehr.testing.errors import EmulatorError
from airflow_provider_feishu_corehr.testing.ratelimit import Limit, parse_limit_text

if TYPE_CHECKING:
    from collections.abc import Sequence

# Not 8080: that is the Airflow 3 api-server's default port.
DEFAULT_PORT = 8765


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_feishu_corehr.testing",
        description="Run the Feishu CoreHR offboarding emulator on loopback until Ctrl-C / SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}); 0 = any free port"
    )
    parser.add_argument("--seed", help="JSON seed file (records, employments, schema); default: built-in seed")
    parser.add_argument("--token-ttl", type=float, default=7200, help="token lifetime in seconds (default 7200)")
    parser.add_argument("--token-refresh-window", type=float, help="seconds left below which a new token is issued")
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="ENDPOINT=N/SECONDS",
        help="override a rate limit, e.g. revoke=20/1, search=100/60, edit=off; or 'off' for none (repeatable)",
    )
    parser.add_argument("--token-invalid-status", type=int, choices=(200, 400), default=400)
    parser.add_argument("--app-id", default="cli_emulator", help="app id (default cli_emulator)")
    parser.add_argument("--app-secret", default="emulator-secret", help="app secret (default emulator-secret)")
    parser.add_argument("--print-json-line", action="store_true", help="first line: a JSON object for scripts")
    add_tenant_arguments(parser)
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a certificate from a new test CA (needs the emulator-tls extra: trustme)",
    )
    return parser


def rate_limits(values: Sequence[str]) -> dict[str, Limit | None] | str | None:
    if not values:
        return None
    if list(values) == ["off"]:
        return "off"
    return dict(parse_limit_text(text) for text in values)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        options = tenant_options(args)
        emu = FeishuEmulator(
            apps={args.app_id: args.app_secret},
            token_ttl=args.token_ttl,
            token_refresh_window=args.token_refresh_window,
            rate_limits=rate_limits(args.rate_limit),
            token_invalid_http_status=args.token_invalid_status,
            seed=args.seed,
            host=args.host,
            port=args.port,
            **options,
            tls=args.tls,
        )
        emu.start()
    except EmulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if args.print_json_line:
            info = {
                "base_url": emu.base_url,
                "port": emu.port,
                "app_id": emu.app_id,
                "conn_json": emu.airflow_conn_json(),
                "conn_uri": emu.airflow_conn_uri(),
                "ca_path": emu.ca_path,
            }
            print(json.dumps(info))
        print(f"Feishu emulator listening on {emu.base_url} (Ctrl-C to stop); tenant time {emu.tenant_time}")
        if emu.ca_path:
            print(f"Test CA certificate (trust it, e.g. REQUESTS_CA_BUNDLE): {emu.ca_path}")
        print(f"AIRFLOW_CONN_FEISHU_DEFAULT={shlex.quote(emu.airflow_conn_json())}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
    print("Feishu emulator stopped", flush=True)
    return 0
