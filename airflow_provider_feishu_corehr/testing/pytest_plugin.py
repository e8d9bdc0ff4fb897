"""pytest plugin of the Feishu emulator, registered through the ``pytest11`` entry point.

Fixtures:

``feishu_emulator``    a fresh :class:`~.FeishuEmulator` (default seed), started for the test, stopped after it.
``feishu_connection``  the same emulator, with ``AIRFLOW_CONN_FEISHU_DEFAULT`` pointing at it for the test.

Options go through a marker: ``@pytest.mark.feishu_emulator(token_ttl=60, rate_limits="off", seed=path)``
(any :class:`~.FeishuEmulator` argument). Nothing is imported from Airflow (this module is loaded before a
project's conftest sets ``AIRFLOW_HOME``), and the emulator itself is imported only when a fixture runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_feishu_corehr.testing.emulator import FeishuEmulator

MARKER = "feishu_emulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): arguments for the feishu_emulator fixture's FeishuEmulator(...)"
    )


@pytest.fixture
def feishu_emulator(request: pytest.FixtureRequest) -> Iterator[FeishuEmulator]:
    """A started Feishu emulator on 127.0.0.1 (any free port), stopped after the test."""
    from airflow_provider_feishu_corehr.testing.emulator import FeishuEmulator

    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker else {}
    with FeishuEmulator(**options) as emu:
        yield emu


@pytest.fixture
def feishu_connection(feishu_emulator: FeishuEmulator, monkeypatch: pytest.MonkeyPatch) -> FeishuEmulator:
    """The emulator, with ``AIRFLOW_CONN_FEISHU_DEFAULT`` set to it (JSON form) for the duration of the test."""
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_DEFAULT", feishu_emulator.airflow_conn_json())
    return feishu_emulator
