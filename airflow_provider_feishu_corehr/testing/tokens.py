"""Tenant access tokens: issue with the documented reuse rules, validate, invalidate.

Rules (``docs/api-facts.md``, "Tenant access token"): a token lives ``ttl`` seconds (Feishu: 7200). Asking
again returns the *same* token while at least the refresh window remains, with ``expire`` = remaining whole
seconds; below the window a *new* token is issued and the old one stays valid until its own expiry. Feishu's
window is 30 minutes for a 2 h token; with the short TTLs tests use, a fixed 1800 s window would hand out a new
token on every call, so the default window is ``min(1800, ttl / 4)`` (7200 s -> 1800 s, 60 s -> 15 s,
2 s -> 0.5 s).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.testing.errors import EmulatorError

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.clock import Clock


def default_refresh_window(ttl: float) -> float:
    return min(1800.0, ttl / 4)


@dataclass(frozen=True)
class Grant:
    token: str
    app_id: str
    expires_at: float


class TokenStore:
    """Thread-safe token book-keeping on the emulator clock."""

    def __init__(self, clock: Clock, ttl: float, refresh_window: float | None = None) -> None:
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
            raise EmulatorError(f"token_ttl must be a number of seconds > 0, got {ttl!r}")
        window = default_refresh_window(ttl) if refresh_window is None else refresh_window
        if isinstance(window, bool) or not isinstance(window, int | float) or not 0 <= window < ttl:
            raise EmulatorError(f"token_refresh_window must be >= 0 and below token_ttl ({ttl}), got {window!r}")
        self.ttl = float(ttl)
        self.refresh_window = float(window)
        self._clock = clock
        self._lock = threading.Lock()
        self._by_token: dict[str, Grant] = {}
        self._current: dict[str, Grant] = {}
        self._issued = 0
        self._ever: set[str] = set()  # every token handed out, expired and invalidated ones included

    @property
    def issued(self) -> int:
        """How many distinct tokens were handed out (re-serving the same token does not count)."""
        return self._issued

    def grant(self, app_id: str) -> tuple[str, int]:
        """Return ``(token, expire)`` for ``app_id`` following the reuse rules."""
        now = self._clock.now()
        with self._lock:
            current = self._current.get(app_id)
            if current is not None and current.expires_at - now >= self.refresh_window:
                return current.token, max(1, int(current.expires_at - now))
            self._purge(now)
            fresh = Grant("t-" + secrets.token_hex(20), app_id, now + self.ttl)
            self._by_token[fresh.token] = fresh
            self._current[app_id] = fresh
            self._ever.add(fresh.token)
            self._issued += 1
            return fresh.token, max(1, int(self.ttl))

    def ever_issued(self, token: str) -> bool:
        """Whether this emulator ever handed out ``token`` (a client of another emulator presents one it did not).

        :param token: the bearer token.
        """
        with self._lock:
            return token in self._ever

    def app_of(self, token: str) -> str | None:
        """The app a valid token belongs to, or None when it is unknown, expired or invalidated."""
        now = self._clock.now()
        with self._lock:
            found = self._by_token.get(token)
            if found is None or found.expires_at <= now:
                return None
            return found.app_id

    def invalidate_all(self) -> None:
        """Every token issued so far is invalid from now on; the next token request gets a new one."""
        with self._lock:
            self._by_token.clear()
            self._current.clear()

    def reset_counter(self) -> None:
        with self._lock:
            self._issued = 0

    def _purge(self, now: float) -> None:
        expired = [token for token, found in self._by_token.items() if found.expires_at <= now]
        for token in expired:
            del self._by_token[token]
