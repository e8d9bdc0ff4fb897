"""Run the official SDK's ``lark.ws.Client``, unchanged, against an emulator; one JSON line per event received.

Usage: ``python sdk_ws_listener.py BASE_URL APP_ID APP_SECRET OUT_FILE``. Run as a subprocess by
``test_events_sdk.py`` (the client runs its own event loop forever; the test ends the process).
"""

from __future__ import annotations

import sys
from typing import Any

import lark_oapi as lark


def main(base_url: str, app_id: str, app_secret: str, out_path: str) -> None:
    def write(data: Any) -> None:
        with open(out_path, "a", encoding="utf-8") as out:
            out.write(lark.JSON.marshal(data) + "\n")

    handler = (
        lark.EventDispatcherHandler.builder("", "")
        .register_p2_corehr_offboarding_updated_v2(write)
        .register_p2_corehr_offboarding_status_updated_v2(write)
        .build()
    )
    client = lark.ws.Client(app_id, app_secret, event_handler=handler, domain=base_url, log_level=lark.LogLevel.DEBUG)
    client.start()


if __name__ == "__main__":
    main(*sys.argv[1:5])
