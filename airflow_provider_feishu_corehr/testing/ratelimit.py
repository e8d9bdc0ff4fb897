"""Per app and endpoint rate limits: a fixed-window counter matching the documented "N per window" wording.

A window opens with the first request of a key (app, endpoint) and lasts ``window`` seconds; requests beyond
``limit`` inside it are refused until it closes. ``reset`` is the whole seconds left (at least 1), which is what
``x-ogw-ratelimit-reset`` carries.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.testing.api_pages import Endpoint
from airflow_provider_feishu_corehr.testing.errors import EmulatorError

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.clock import Clock

Limit = tuple[int, float]
RateLimitConfig = Mapping[str, Limit | None] | str | None

ENDPOINT_NAMES = tuple(e.value for e in Endpoint)


def resolve_limits(config: RateLimitConfig) -> dict[str, Limit | None]:
    """Documented defaults, overridden per endpoint name; ``"off"`` (or a value ``None``) means unlimited."""
    limits: dict[str, Limit | None] = {e.value: e.default_rate_limit for e in Endpoint}
    if config is None:
        return limits
    if isinstance(config, str):
        if config != "off":
            raise EmulatorError(f'rate_limits must be None, "off" or a dict per endpoint, got {config!r}')
        return dict.fromkeys(limits)
    if not isinstance(config, Mapping):
        raise EmulatorError(f"rate_limits must be None, 'off' or a dict per endpoint, got {type(config).__name__}")
    for name, value in config.items():
        if name not in limits:
            raise EmulatorError(f"rate_limits: unknown endpoint {name!r}; known: {', '.join(ENDPOINT_NAMES)}")
        limits[name] = None if value is None else check_limit(name, value)
    return limits


def check_limit(name: str, value: object) -> Limit:
    """``(requests > 0, window seconds > 0)`` from a tuple or list (JSON gives lists)."""
    if isinstance(value, tuple | list) and len(value) == 2:
        count, window = value[0], value[1]
        count_ok = isinstance(count, int) and not isinstance(count, bool) and count > 0
        window_ok = isinstance(window, int | float) and not isinstance(window, bool) and window > 0
        if count_ok and window_ok:
            return int(count), float(window)
    raise EmulatorError(f"rate_limits[{name!r}] must be (requests > 0, window seconds > 0) or None, got {value!r}")


def parse_limit_text(text: str) -> tuple[str, Limit | None]:
    """Parse the CLI form ``revoke=20/1`` (20 per 1 s) or ``search=off``."""
    name, sep, spec = text.partition("=")
    if not sep:
        raise EmulatorError(f"rate limit {text!r} must look like ENDPOINT=COUNT/SECONDS or ENDPOINT=off")
    if spec == "off":
        return name, None
    count, slash, window = spec.partition("/")
    try:
        return name, check_limit(name, (int(count), float(window) if slash else 1.0))
    except ValueError:
        raise EmulatorError(f"rate limit {text!r} must look like ENDPOINT=COUNT/SECONDS, e.g. revoke=20/1") from None


class RateLimiter:
    """Thread-safe fixed windows keyed by (app id, endpoint)."""

    def __init__(self, clock: Clock, limits: dict[str, Limit | None]) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def check(self, app_id: str, endpoint: str) -> tuple[int, int] | None:
        """Count one request; return ``(limit, reset seconds)`` if it is over the limit, else None."""
        limit = self.limits.get(endpoint)
        if limit is None:
            return None
        count, window = limit
        now = self._clock.now()
        key = (app_id, endpoint)
        with self._lock:
            start, used = self._windows.get(key, (now, 0))
            if now - start >= window:
                start, used = now, 0
            if used >= count:
                return count, max(1, math.ceil(start + window - now))
            self._windows[key] = (start, used + 1)
            return None

    def reset(self) -> None:
        """Forget every open window."""
        with self._lock:
            self._windows.clear()
