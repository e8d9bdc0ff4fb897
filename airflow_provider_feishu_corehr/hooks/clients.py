"""The hook's clients: the sync and async Feishu clients of one connection, whose credential refusals name the
connection (:func:`~.connection.name_connection`; the client layer has no Airflow and knows no connection id).

Imported when a hook first builds a client, never at DAG parse (it loads ``requests`` and ``httpx``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_feishu_corehr.client.errors import FeishuError
from airflow_provider_feishu_corehr.client.sync import FeishuClient
from airflow_provider_feishu_corehr.hooks.connection import name_connection
from airflow_provider_feishu_corehr.hooks.masking import MaskingAsyncClient

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.client.models import ClientSettings


class ConnectionClient(FeishuClient):
    """:class:`FeishuClient` of a connection: Feishu refusing its credentials raises a
    :class:`~.connection.FeishuCredentialsError` naming the connection.

    :param settings: the connection's settings.
    :param conn_id: the connection id.
    :param kwargs: passed to :class:`FeishuClient` (``on_token``, ``guard``, ...).
    """

    def __init__(self, settings: ClientSettings, *, conn_id: str | None, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.conn_id = conn_id

    def _token(self, **kwargs: Any) -> str:
        try:
            token: str = super()._token(**kwargs)
        except FeishuError as error:
            named = name_connection(error, conn_id=self.conn_id, app_id=self.settings.app_id)
            if named is error:
                raise
            raise named from error
        return token


class ConnectionAsyncClient(MaskingAsyncClient):
    """The async twin of :class:`ConnectionClient` (tokens masked with the async masker).

    :param settings: the connection's settings.
    :param conn_id: the connection id.
    :param kwargs: passed to :class:`~.masking.MaskingAsyncClient`.
    """

    def __init__(self, settings: ClientSettings, *, conn_id: str | None, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.conn_id = conn_id

    async def _token(self, **kwargs: Any) -> str:
        try:
            token: str = await super()._token(**kwargs)
        except FeishuError as error:
            named = name_connection(error, conn_id=self.conn_id, app_id=self.settings.app_id)
            if named is error:
                raise
            raise named from error
        return token
