"""Fixtures of the sensor tests (shared with the trigger tests: ``tests/status_fixtures.py``)."""

from __future__ import annotations

from status_fixtures import feishu, logs, one_attempt_conn, wrong_secret_conn

__all__ = ["feishu", "logs", "one_attempt_conn", "wrong_secret_conn"]
