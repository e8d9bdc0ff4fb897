"""pytest plugin of the Feishu emulator, registered through the ``pytest11`` entry point.

Fixtures:

``feishu_emulator``         a fresh :class:`~.FeishuEmulator` (default seed), started for the test, stopped after it.
``feishu_connection``       the same emulator, with ``AIRFLOW_CONN_FEISHU_DEFAULT`` pointing at it for the test.
``feishu_emulator_shared``  one emulator for the whole session, reset to its seed (``POST /_emulator/reset``)
                            before each test that uses it: records, clock, faults, counters, tokens.

Options go through a marker: ``@pytest.mark.feishu_emulator(token_ttl=60, rate_limits="off", seed=path)``
(any :class:`~.FeishuEmulator` argument; ``feishu_emulator`` only, the shared server takes the defaults).

Each ``feishu_emulator`` gets its own app id (``cli_emulator_<8 hex>``, secret ``emulator-secret``; why:
:mod:`.apps`) unless the marker passes ``apps=``. Read the id from ``feishu_emulator.app_id``; pin one with
``apps={"cli_emulator": "emulator-secret"}``.

The plugin is loaded in every pytest run of a deployment that installs the package, so it adds its fixtures and
the marker's registration (``--strict-markers`` accepts it) and nothing else: no option, no autouse fixture, no
hook that changes collection or reporting (``tests/testing/test_plugin_footprint.py`` compares pytest runs with
and without it). Nothing is imported from Airflow (this module is loaded before a project's conftest sets
``AIRFLOW_HOME``), and the emulator and ``urllib.request`` are imported only when a fixture runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from airflow_provider_feishu_corehr.testing.apps import fresh_apps

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_feishu_corehr.testing.emulator import FeishuEmulator

MARKER = "feishu_emulator"


def reset_over_http(base_url: str, *, keep_tokens: bool = False) -> None:
    """``POST <base_url>/_emulator/reset``: what a session sharing a CLI emulator calls before each test.

    :param base_url: the emulator's ``http://127.0.0.1:PORT``.
    :param keep_tokens: keep the tokens issued so far valid (lark-oapi's cache outlives a reset).
    """
    import urllib.request

    body = b'{"keep_tokens": true}' if keep_tokens else b"{}"
    request = urllib.request.Request(f"{base_url}/_emulator/reset", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``feishu_emulator`` marker (its one line in ``pytest --markers``); nothing else.

    :param config: pytest's configuration.
    """
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): arguments for the feishu_emulator fixture's FeishuEmulator(...)"
    )


@pytest.fixture
def feishu_emulator(request: pytest.FixtureRequest) -> Iterator[FeishuEmulator]:
    """A started Feishu emulator on 127.0.0.1 (any free port) with its own app id, stopped after the test."""
    from airflow_provider_feishu_corehr.testing.emulator import FeishuEmulator

    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker else {}
    options.setdefault("apps", fresh_apps())
    with FeishuEmulator(**options) as emu:
        yield emu


@pytest.fixture
def feishu_connection(feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch) -> FeishuEmulator:
    """The emulator, with ``AIRFLOW_CONN_FEISHU_DEFAULT`` set to it (JSON form) for the duration of the test."""
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", feishu_emulator.airflow_conn_json())
    return feishu_emulator


@pytest.fixture(scope="session")
def _feishu_emulator_session() -> Iterator[FeishuEmulator]:
    from airflow_provider_feishu_corehr.testing.emulator import FeishuEmulator

    with FeishuEmulator(apps=fresh_apps()) as emu:
        yield emu


@pytest.fixture
def feishu_emulator_shared(_feishu_emulator_session: FeishuEmulator) -> FeishuEmulator:
    """The session's emulator, reset to its seed over HTTP before the test (as a CLI server would be)."""
    reset_over_http(_feishu_emulator_session.base_url)
    return _feishu_emulator_session
