"""pytest plugin of the Feishu emulator (fixtures ``feishu_emulator`` and ``feishu_connection``; work in progress)."""

from __future__ import annotations
