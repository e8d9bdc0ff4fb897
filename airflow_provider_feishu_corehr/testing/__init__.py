"""An emulator of the Feishu CoreHR offboarding API for tests, demos and users' own DAG tests.

``FeishuEmulator`` is a real HTTP server on 127.0.0.1: the tenant token endpoint with Feishu's reuse rules,
revoke, edit and v1 search with their documented error codes (caused by record data), rate limits with 429 and
``x-ogw-ratelimit-*`` headers, ``X-Tt-Logid`` on every response, fault injection, and counters::

    from airflow_provider_feishu_corehr.testing import FeishuEmulator

    with FeishuEmulator(token_ttl=60) as emu:
        os.environ["AIRFLOW_CONN_FEISHU_DEFAULT"] = emu.airflow_conn_json()
        emu.inject_fault("revoke", "http_503", count=2)
        ...
        assert emu.request_count("revoke", code=0) == 1

Time moves statuses on a tenant calendar (:mod:`.clock`, :mod:`.lifecycle`: ``emu.set_time(...)``,
``emu.advance_time(...)``, ``clock_speed=``), ``emu.reset()`` goes back to the seed, and the served codes,
messages, limits and paths come from the emulator's own tables (:mod:`.api_pages`).

Also: ``python -m airflow_provider_feishu_corehr.testing`` (CLI, port 8765) and the pytest fixtures
``feishu_emulator`` / ``feishu_connection`` / ``feishu_emulator_shared`` (registered automatically). The
default seed's records are listed in :mod:`.seed`; the reference is ``docs/emulator.md``.
Nothing here imports Airflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.emulator import FeishuEmulator
    from airflow_provider_feishu_corehr.testing.errors import EmulatorError, SeedError, UnknownOffboardingError
    from airflow_provider_feishu_corehr.testing.observe import RequestRecord

__all__ = ["EmulatorError", "FeishuEmulator", "RequestRecord", "SeedError", "UnknownOffboardingError"]

_WHERE = {
    "FeishuEmulator": "emulator",
    "EmulatorError": "errors",
    "SeedError": "errors",
    "UnknownOffboardingError": "errors",
    "RequestRecord": "observe",
}


def __getattr__(name: str) -> Any:
    """Import lazily: the pytest plugin loads this package in every pytest run, before any test needs a server."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
