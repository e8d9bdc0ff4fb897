"""Parts of :class:`~.emulator.FeishuEmulator`: the clock (advance, set, speed, approval delay, read) and reset."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing.errors import EmulatorError

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.clock import Clock
    from airflow_provider_feishu_corehr.testing.events import EventLog
    from airflow_provider_feishu_corehr.testing.faults import FaultPlan
    from airflow_provider_feishu_corehr.testing.longconn import LongConnection
    from airflow_provider_feishu_corehr.testing.observe import RequestLog
    from airflow_provider_feishu_corehr.testing.ratelimit import RateLimiter
    from airflow_provider_feishu_corehr.testing.records import Record
    from airflow_provider_feishu_corehr.testing.schema import FieldSpec
    from airflow_provider_feishu_corehr.testing.server import EmulatorHTTPServer
    from airflow_provider_feishu_corehr.testing.state import Store
    from airflow_provider_feishu_corehr.testing.tokens import TokenStore


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


class ResetControls:
    """:meth:`reset`: the emulator back to its seed (``POST /_emulator/reset``)."""

    _clock: Clock
    _store: Store
    _seed: tuple[dict[str, FieldSpec], list[Record], set[str]]
    _approval_delay: float | None
    _faults: FaultPlan
    _limiter: RateLimiter
    _tokens: TokenStore
    _events: EventLog
    _longconn: LongConnection

    _log: RequestLog
    _server: EmulatorHTTPServer | None
    _connections_base: int

    def reset_counters(self) -> None:
        """Forget recorded requests, the tokens-issued and connection counts (records, tokens, faults stay)."""
        self._log.clear()
        self._tokens.reset_counter()
        self._connections_base = 0 if self._server is None else self._server.connections_opened

    def reset(self, *, keep_tokens: bool = False) -> None:
        """Back to the seed: records, clock (start, speed, approval delay), faults, rate-limit windows, counters,
        emitted events and their deliveries, long-connection faults and settings (open connections stay) and,
        unless ``keep_tokens``, tokens (every token issued so far becomes invalid)."""
        if not isinstance(keep_tokens, bool):
            raise EmulatorError(f"keep_tokens must be true or false, got {keep_tokens!r}")
        self._clock.reset()
        self._store.load(*copy.deepcopy(self._seed))
        self._store.approval_delay = self._approval_delay
        self._faults.clear()
        self._events.clear()
        self._longconn.reset()
        self._limiter.reset()
        if not keep_tokens:
            self._tokens.invalidate_all()
        self.reset_counters()
