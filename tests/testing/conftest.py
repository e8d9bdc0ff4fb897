"""Fixtures of the emulator tests. They drive the emulator over HTTP only (never through the hook) and use the
``feishu_emulator`` fixture of the package's own pytest plugin (options via ``@pytest.mark.feishu_emulator``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from emu_client import Api

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator


@pytest.fixture
def api(feishu_emulator: FeishuEmulator) -> Api:
    return Api(feishu_emulator)
