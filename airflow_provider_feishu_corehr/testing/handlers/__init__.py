"""One module per Feishu endpoint; each turns a :class:`Call` into a :class:`~..wire.Response`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from airflow_provider_feishu_corehr.testing.api_pages import Endpoint
    from airflow_provider_feishu_corehr.testing.records import Record
    from airflow_provider_feishu_corehr.testing.state import Store
    from airflow_provider_feishu_corehr.testing.tokens import TokenStore
    from airflow_provider_feishu_corehr.testing.wire import Request


@dataclass
class Call:
    """A request on its way through the emulator; handlers fill in ``app_id`` and ``offboarding_id``."""

    request: Request
    endpoint: Endpoint
    log_id: str
    store: Store
    tokens: TokenStore
    apps: Mapping[str, str]
    processing_time: float = 0.0
    stopping: threading.Event = field(default_factory=threading.Event)
    app_id: str | None = None
    offboarding_id: str | None = None

    def process(self) -> None:
        """Spend the configured processing time (a write in progress), cut short when the emulator stops."""
        if self.processing_time > 0:
            self.stopping.wait(self.processing_time)

    def finish_write(self, offboarding_id: str, apply: Callable[[Record], None]) -> None:
        """A slow write: spend the processing time with the record claimed (the caller claimed it under the store's
        lock), then apply the write if the record still exists, and release it.

        :param offboarding_id: the claimed record.
        :param apply: applies the write to the record (called under the store's lock).
        """
        try:
            self.process()
            with self.store.lock:
                record = self.store.get(offboarding_id)
                if record is not None:
                    apply(record)
        finally:
            self.store.release(offboarding_id)
