"""A bare long-connection client for the emulator tests: ``requests`` for the endpoint request, the
``websockets`` sync client for the socket, and the official SDK's generated ``pbbp2.Frame`` for the frames
(independent of the emulator's own codec)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

pb2 = pytest.importorskip("lark_oapi.ws.pb.pbbp2_pb2")
sync_client = pytest.importorskip("websockets.sync.client")

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator


def endpoint(emu: FeishuEmulator, secret: str | None = None) -> dict[str, Any]:
    body = {"AppID": emu.app_id, "AppSecret": secret or emu.app_secret}
    response = requests.post(f"{emu.base_url}/callback/ws/endpoint", json=body, headers={"locale": "zh"}, timeout=10)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def headers(frame: Any) -> dict[str, str]:
    return {h.key: h.value for h in frame.headers}


class Client:
    """One connection: ``ping``, ``next_event`` (joins fragments), ``ack``."""

    def __init__(self, emu: FeishuEmulator) -> None:
        answer = endpoint(emu)
        assert answer["code"] == 0, answer
        self.url = answer["data"]["URL"]
        self.config = answer["data"]["ClientConfig"]
        self.service_id = int(parse_qs(urlsplit(self.url).query)["service_id"][0])
        self.ws = sync_client.connect(self.url, open_timeout=10)

    def close(self) -> None:
        self.ws.close()

    def recv(self, timeout: float = 10) -> Any:
        frame = pb2.Frame()
        frame.ParseFromString(self.ws.recv(timeout=timeout))
        return frame

    def ping(self) -> Any:
        frame = pb2.Frame()
        frame.SeqID, frame.LogID, frame.service, frame.method = 0, 0, self.service_id, 0
        header = frame.headers.add()
        header.key, header.value = "type", "ping"
        self.ws.send(frame.SerializeToString())
        return self.recv()

    def next_event(self, timeout: float = 10) -> tuple[dict[str, Any], Any, int]:
        """The next event (fragments joined), the last frame (to ack) and how many frames it took."""
        parts: dict[int, bytes] = {}
        while True:
            frame = self.recv(timeout)
            hs = headers(frame)
            assert frame.method == 1 and hs["type"] == "event", hs
            parts[int(hs["seq"])] = frame.payload
            if len(parts) == int(hs["sum"]):
                payload = b"".join(parts[i] for i in range(len(parts)))
                return json.loads(payload), frame, len(parts)

    def ack(self, frame: Any, code: int = 200) -> None:
        header = frame.headers.add()
        header.key, header.value = "biz_rt", "1"
        frame.payload = json.dumps({"code": code, "headers": None, "data": None}).encode()
        self.ws.send(frame.SerializeToString())


def wait_for(check: Any, what: str, timeout: float = 20) -> Any:
    """Poll ``check()`` until it is truthy (a generous limit: the tests assert outcomes, not speed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
