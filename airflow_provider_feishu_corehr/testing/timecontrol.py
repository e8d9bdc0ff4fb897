"""The clock part of :class:`~.emulator.FeishuEmulator`: advance, set, speed, approval delay, read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing.errors import EmulatorError

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.clock import Clock
    from airflow_provider_feishu_corehr.testing.state import Store


class ClockControls:
    """Methods that move the emulator's clock; statuses follow it (see :mod:`.lifecycle`)."""

    _clock: Clock
    _store: Store

    def advance_time(self, seconds: float) -> None:
        """Move the clock forward: tokens age and expire, rate-limit windows pass, the tenant calendar moves
        (and with it statuses: an approved record whose offboarding date ends becomes ``Offboarded``)."""
        self._clock.advance(seconds)
        self._store.tick()

    def set_time(self, when: str | float) -> None:
        """Move the tenant calendar forward to ``when`` (``YYYY-MM-DD HH:MM:SS`` / ``YYYY-MM-DD`` tenant time, or
        epoch seconds). Refused if it is in the past: the clock only goes back with :meth:`reset`."""
        self._clock.set(when)
        self._store.tick()

    def set_clock_speed(self, speed: float) -> None:
        """Calendar seconds per real second from now on (0 stops the calendar between advances)."""
        self._clock.set_speed(speed)

    def set_approval_delay(self, seconds: float | None) -> None:
        """Calendar seconds after which ``Approving`` becomes ``Approved``; None: only the control API ends it."""
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0):
            raise EmulatorError(f"approval_delay must be a number of seconds >= 0 or null, got {seconds!r}")
        with self._store.lock:
            self._store.approval_delay = None if seconds is None else float(seconds)
            self._store.touch()
        self._store.tick()

    @property
    def tenant_time(self) -> str:
        """The tenant calendar now, ``YYYY-MM-DD HH:MM:SS`` in the tenant's time zone."""
        return self._clock.text()

    def clock(self) -> dict[str, Any]:
        """``tenant_time``, ``timezone``, ``epoch``, ``speed`` and ``approval_delay`` (``GET /_emulator/clock``)."""
        return {**self._clock.describe(), "approval_delay": self._store.approval_delay}

    def transitions(self) -> list[dict[str, Any]]:
        """Every status change since start or reset: ``offboarding_id``, ``from``, ``to``, ``cause`` (``clock``,
        ``revoke``, ``control``) and ``tenant_time``."""
        self._store.tick()
        with self._store.lock:
            return [dict(t) for t in self._store.transitions]
