"""A plain ``requests`` client for the emulator tests: raw Feishu wire calls, no hook, no client core."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import requests

from airflow_provider_feishu_corehr.client.codes import Endpoint, lookup

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

CORE = {"user_id_type": "people_corehr_id"}


class Api:
    """Raw HTTP calls against one emulator, with a cached token per app."""

    def __init__(self, emu: FeishuEmulator) -> None:
        self.emu = emu
        self.session = requests.Session()
        self._token: str | None = None

    def url(self, endpoint: str) -> str:
        return self.emu.base_url + Endpoint(endpoint).path

    def get_token(self, app_id: str | None = None, app_secret: str | None = None) -> requests.Response:
        body = {"app_id": app_id or self.emu.app_id, "app_secret": app_secret or self.emu.app_secret}
        return self.session.post(self.url("token"), json=body, timeout=10)

    def token(self) -> str:
        if self._token is None:
            response = self.get_token()
            assert response.json()["code"] == 0, response.text
            self._token = response.json()["tenant_access_token"]
        return self._token

    def call(
        self,
        endpoint: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        token: str | None = None,
        timeout: float = 10,
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        return self.session.post(self.url(endpoint), json=body, params=params, headers=headers, timeout=timeout)

    def revoke(self, offboarding_id: Any, **body: Any) -> requests.Response:
        return self.call("revoke", {"offboarding_id": offboarding_id, **body}, params=CORE)

    def edit(self, offboarding_id: Any, updates: dict[str, str], **body: Any) -> requests.Response:
        data = [{"field_name": name, "value": value} for name, value in updates.items()]
        return self.call("edit", {"offboarding_id": offboarding_id, "update_data": data, **body}, params=CORE)

    def search(
        self, body: Any = None, *, token: str | None = None, timeout: float = 10, **params: Any
    ) -> requests.Response:
        """Search with ``page_size=100`` and ``people_corehr_id`` unless ``params`` say otherwise."""
        query = {"page_size": 100, **CORE, **params}
        return self.call("search", body if body is not None else {}, params=query, token=token, timeout=timeout)


def assert_error(response: requests.Response, endpoint: str, code: int) -> None:
    """The response is Feishu's error ``code`` with the documented status and message, and carries log ids."""
    info = lookup(Endpoint(endpoint), code)
    assert info is not None
    body = response.json()
    assert (body["code"], body["msg"]) == (code, info.msg), (body["code"], body["msg"])
    assert response.status_code == info.http_status
    assert body["error"]["log_id"] == response.headers["X-Tt-Logid"]


def run_user_tests(folder: Path, source: str) -> None:
    """Write ``source`` as ``test_user.py`` in ``folder`` and run it with pytest in a new process (the plugin's
    fixtures as a user's project sees them); fail with its output unless every test passed."""
    (folder / "test_user.py").write_text(textwrap.dedent(source))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
