"""The operators' hook and client: the connection's client, with every request passing the batch's :class:`Gate`.

Imported when an operator first builds its hook (not at DAG parse: it loads the client).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import mask_secret

from airflow_provider_feishu_corehr.client.decisions import RATE_LIMIT_RESET_HEADER
from airflow_provider_feishu_corehr.client.exchange import HttpResponse
from airflow_provider_feishu_corehr.client.sync import FeishuClient
from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook
from airflow_provider_feishu_corehr.operators.gate import RequestNotStarted

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.exchange import Send, TransportFailure
    from airflow_provider_feishu_corehr.client.models import ClientSettings
    from airflow_provider_feishu_corehr.operators.gate import Gate


class GatedClient(FeishuClient):
    """:class:`FeishuClient` whose sleeps and sends stop once ``gate`` is closed (nothing new goes out).

    :param settings: client settings.
    :param gate: the batch's gate.
    :param kwargs: passed to :class:`FeishuClient` (``on_token``).
    """

    def __init__(self, settings: ClientSettings, gate: Gate, **kwargs: Any) -> None:
        super().__init__(settings, sleep=gate.sleep, **kwargs)
        self._gate = gate

    def _send(self, action: Send) -> HttpResponse | TransportFailure:
        done = self._gate.sending(action.request.endpoint.value)
        try:
            result = super()._send(action)
        except RequestNotStarted:  # woken up while waiting for the rate limiter: nothing went out
            done(False)
            raise
        except BaseException:
            done(True)
            raise
        done(True)
        if isinstance(result, HttpResponse) and (
            result.status == 429 or any(k.lower() == RATE_LIMIT_RESET_HEADER for k in result.headers)
        ):
            self._gate.saw_rate_limit()
        return result


class GatedHook(FeishuHook):
    """:class:`FeishuHook` whose client is a :class:`GatedClient` on ``gate``.

    :param feishu_conn_id: id of the ``feishu`` connection.
    :param gate: the batch's gate.
    """

    def __init__(self, feishu_conn_id: str, gate: Gate) -> None:
        super().__init__(feishu_conn_id=feishu_conn_id)
        self.gate = gate

    @cached_property
    def _client(self) -> FeishuClient:
        return GatedClient(self.settings, self.gate, on_token=mask_secret)
