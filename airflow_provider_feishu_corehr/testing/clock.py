"""The emulator's clock: monotonic time plus an offset that tests can advance (no sleeping for token TTLs)."""

from __future__ import annotations

import threading
import time

from airflow_provider_feishu_corehr.testing.errors import EmulatorError


class Clock:
    """Monotonic seconds used for token lifetimes, rate-limit windows and request timestamps."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (>= 0): tokens age, rate-limit windows pass."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise EmulatorError(f"clock advance must be a number of seconds >= 0, got {seconds!r}")
        with self._lock:
            self._offset += float(seconds)
