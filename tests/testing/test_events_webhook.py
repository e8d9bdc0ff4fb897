"""Webhook mode: with ``webhook_url`` set, events are POSTed there as JSON; HTTP 200 acknowledges, anything else
is pushed again on the retry schedule."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from longconn_client import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from emu_client import Api

APPROVED = "7095671727698478604"


class Receiver(ThreadingHTTPServer):
    def __init__(self, answers: list[int]) -> None:
        self.answers, self.bodies = answers, []  # type: list[int], list[dict[str, Any]]
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append({"content_type": self.headers["Content-Type"], "body": body})
        status = self.server.answers.pop(0) if self.server.answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver([500])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.feishu_emulator(long_connection={"retry_delays": [0.2, 0.2]})
def test_events_are_posted_to_the_webhook_and_retried_until_200(api: Api, receiver: Receiver) -> None:
    emu = api.emu
    emu.configure_long_connection(webhook_url=f"http://127.0.0.1:{receiver.server_address[1]}/feishu/events")
    assert api.revoke(APPROVED).json()["code"] == 0
    wait_for(lambda: [e["state"] for e in emu.events()] == ["acked", "acked"], "both events acknowledged")
    emitted = {e["event"]["header"]["event_id"]: e for e in emu.events()}
    posted = [b["body"]["header"]["event_id"] for b in receiver.bodies]
    assert sorted(set(posted)) == sorted(emitted) and len(posted) == 3  # one refused with 500, posted again
    assert all(b["body"] == emitted[b["body"]["header"]["event_id"]]["event"] for b in receiver.bodies)
    assert sorted(tuple(a["code"] for a in e["attempts"]) for e in emitted.values()) == [(200,), (500, 200)]
    assert {b["content_type"] for b in receiver.bodies} == {"application/json"}
    assert emu.connections() == []
