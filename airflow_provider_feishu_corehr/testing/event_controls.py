"""Parts of :class:`~.emulator.FeishuEmulator`: the events it emitted, the long connections, their faults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.testing.event_faults import make_event_fault

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.events import EventLog
    from airflow_provider_feishu_corehr.testing.longconn import LongConnection


class EventControls:
    """Read the emitted events and their deliveries, see and drop long connections, inject their faults."""

    _events: EventLog
    _longconn: LongConnection

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Every event emitted since start or reset, oldest first: ``{"event": <envelope>, "state", "attempts"}``.

        ``state``: ``pending`` (waiting for its push or retry), ``awaiting_ack``, ``acked``, ``given_up``;
        ``attempts``: each push with ``device_id``, ``message_id``, ``result`` (``sent``, ``acked``,
        ``failed``, ``timeout``, ``no_connection``, ``dropped``, ``connection_lost``), ``code`` of the ack.

        :param event_type: only this type (``corehr.offboarding.updated_v2`` or ``..status_updated_v2``).
        """
        found = self._longconn.deliveries()
        return [d for d in found if event_type is None or d["event"]["header"]["event_type"] == event_type]

    def connections(self) -> list[dict[str, Any]]:
        """The open long connections (``device_id``, ``app_id``, ``service_id``, ``opened_at``, counts)."""
        return self._longconn.connections()

    def drop_connections(self, device_id: str | None = None) -> int:
        """Cut one long connection (or all) at once, as a network failure would; returns how many.

        :param device_id: the connection (see :meth:`connections`); None cuts every one.
        """
        return self._longconn.drop(device_id)

    def inject_event_fault(self, kind: str, *, count: int | None = None, **params: Any) -> None:
        """A long-connection fault for the next ``count`` occasions (see :mod:`.event_faults`).

        :param kind: ``delay``, ``duplicate``, ``fragment``, ``drop_connection``, ``refuse_handshake``,
            ``connection_limit`` or ``endpoint_error``.
        :param count: how many occasions (default 1).
        :param params: the kind's parameters.
        """
        self._longconn.faults.add(make_event_fault(kind, count, **params))

    def event_faults(self) -> list[dict[str, Any]]:
        """Pending long-connection fault rules."""
        return self._longconn.faults.pending()

    def clear_event_faults(self) -> None:
        self._longconn.faults.clear()

    def configure_long_connection(self, **settings: Any) -> dict[str, Any]:
        """Change the long connection's settings; returns them all.

        :param settings: any of ``client_config`` (``ReconnectCount``, ``ReconnectInterval``, ``ReconnectNonce``,
            ``PingInterval``), ``max_connections`` (50), ``ack_timeout`` (3 s), ``retry_delays``
            ([15, 300, 3600, 21600] s), ``fragment_size`` (65536 bytes).
        """
        return self._longconn.configure(settings)

    def long_connection(self) -> dict[str, Any]:
        """The settings, the endpoint requests served and the open connections."""
        return {
            **self._longconn.describe_settings(),
            "endpoint_requests": self._longconn.endpoint_requests,
            "connections": self.connections(),
        }
