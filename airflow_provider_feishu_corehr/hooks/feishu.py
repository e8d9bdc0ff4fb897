"""``FeishuHook``: an Airflow connection of type ``feishu`` turned into a Feishu CoreHR client.

DAG files import this module on every parse, so it imports neither ``requests`` nor ``httpx``: the client opens
its HTTP pool on the first call.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_feishu_corehr.client.errors import FeishuCredentialsError, FeishuError
from airflow_provider_feishu_corehr.hooks.connection import (
    FeishuConnectionFieldError,
    check_conn_id,
    not_found,
    redis_not_found,
    settings_from_connection,
    with_redis,
)
from airflow_provider_feishu_corehr.hooks.connection_fields import CONN_TYPE, DEFAULT_CONN_ID, HOOK_NAME
from airflow_provider_feishu_corehr.hooks.masking import amask, mask

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Unpack

    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
    from airflow_provider_feishu_corehr.client.api import SearchFilters
    from airflow_provider_feishu_corehr.client.models import (
        ClientSettings,
        EditResult,
        FieldValue,
        OffboardingRecord,
        RevokeResult,
    )
    from airflow_provider_feishu_corehr.client.sync import FeishuClient, SendGuard


class FeishuHook(BaseHook):
    """Interact with Feishu People (CoreHR) offboardings through a ``feishu`` connection.

    The connection holds the App ID (login), the App Secret (password), the base URL (host, or the ``domain``
    extra: ``feishu`` or ``lark``) and optional extras (``timeout``, ``max_attempts``, ``user_id_type``,
    ``rate_limits``, ...); see :mod:`airflow_provider_feishu_corehr.hooks.connection`. The App Secret and every
    tenant access token are registered with Airflow's secret masker.

    :param feishu_conn_id: id of the ``feishu`` connection.
    :param guard: watches and may stop every request of the sync client (the operators pass their batch's gate).
    :param kwargs: passed to :class:`BaseHook` (e.g. ``logger_name``).
    """

    conn_name_attr = "feishu_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = HOOK_NAME

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Airflow 2.x connection form: the extra fields (Airflow 3 reads them from the provider info)."""
        from airflow_provider_feishu_corehr.hooks._form import connection_form_widgets

        return connection_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Airflow 2.x connection form: hidden fields, labels, placeholders (Airflow 3: the provider info)."""
        from airflow_provider_feishu_corehr.hooks._form import ui_field_behaviour

        return ui_field_behaviour()

    def __init__(
        self, feishu_conn_id: str = default_conn_name, *, guard: SendGuard | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.feishu_conn_id = feishu_conn_id
        self.guard = guard

    @cached_property
    def settings(self) -> ClientSettings:
        """Client settings read from the connection (fetched once per hook).

        :raises FeishuInvalidInputError: naming the connection and the field when the connection is not usable, or
            naming the connection id when it is empty or not defined (a configuration error: not retried).
        """
        conn_id = check_conn_id(self.feishu_conn_id)
        try:
            conn = self.get_connection(conn_id)
        except _not_found_error():
            raise not_found(conn_id) from None
        mask(conn.password or "")
        settings = settings_from_connection(conn)
        if settings.rate_limit_scope == "redis":  # the Redis server's connection, from the secrets backend too
            try:
                redis_conn = self.get_connection(settings.rate_limit_redis_conn_id)
            except _not_found_error():
                raise redis_not_found(settings.rate_limit_redis_conn_id, conn_id) from None
            mask(redis_conn.password or "")
            settings = with_redis(settings, redis_conn, feishu_conn_id=conn_id)
        return settings

    @cached_property
    def _client(self) -> FeishuClient:
        from airflow_provider_feishu_corehr.client.sync import FeishuClient  # requests: on first use, not at parse

        return FeishuClient(self.settings, on_token=mask, guard=self.guard)

    def get_conn(self) -> FeishuClient:
        """Return the (cached) :class:`FeishuClient` of this hook."""
        return self._client

    # The methods below check every argument (client/api.py) and raise FeishuInvalidInputError before any request.

    def revoke_offboarding(
        self, offboarding_id: str, *, operator_id: str | None = None, user_id_type: str | None = None
    ) -> RevokeResult:
        """Revoke (withdraw) an offboarding; an already withdrawn one gives ``already_withdrawn=True``.

        :param offboarding_id: the offboarding to revoke.
        :param operator_id: operator's employment id; ``None`` = system operator.
        :param user_id_type: id type of ``operator_id``; ``None`` = the connection's default.
        """
        return self.get_conn().revoke_offboarding(offboarding_id, operator_id=operator_id, user_id_type=user_id_type)

    def edit_offboarding(
        self,
        offboarding_id: str,
        update_data: Sequence[FieldValue],
        *,
        operator_id: str | None = None,
        user_id_type: str | None = None,
    ) -> EditResult:
        """Edit fields of an offboarding; returns the fields Feishu echoed.

        :param offboarding_id: the offboarding to edit.
        :param update_data: fields in wire form (``client.fields.normalize_update_data`` converts Python values).
        :param operator_id: operator's employment id; ``None`` = system operator.
        :param user_id_type: id type of ``operator_id`` and person fields; ``None`` = the connection's default.
        """
        return self.get_conn().edit_offboarding(
            offboarding_id, update_data, operator_id=operator_id, user_id_type=user_id_type
        )

    def search_offboardings(
        self, *, deadline: float | None = None, **filters: Unpack[SearchFilters]
    ) -> Iterator[OffboardingRecord]:
        """Search offboardings and iterate over every record of every page.

        :param deadline: a ``time.monotonic()`` value by which the search must end (``FeishuDeadlineError`` after
            it); ``None`` = bounded by the retry budget and ``max_pages`` only.
        :param filters: the :class:`~airflow_provider_feishu_corehr.client.api.SearchFilters` (employment ids,
            statuses, date ranges, ``user_id_type``, ``page_size``).
        """
        return self.get_conn().search_offboardings(deadline=deadline, **filters)

    def get_offboarding(
        self,
        employment_id: str,
        *,
        offboarding_id: str | None = None,
        user_id_type: str | None = None,
        deadline: float | None = None,
    ) -> OffboardingRecord | None:
        """One offboarding of an employment (the most recent one unless ``offboarding_id`` is given), or ``None``.

        :param employment_id: the employment.
        :param offboarding_id: a specific offboarding id, or ``None``.
        :param user_id_type: id type of ``employment_id``; ``None`` = the connection's default.
        :param deadline: as in :meth:`search_offboardings`.
        """
        return self.get_conn().get_offboarding(
            employment_id, offboarding_id=offboarding_id, user_id_type=user_id_type, deadline=deadline
        )

    def lookup_offboardings(
        self, employment_ids: Sequence[str], *, user_id_type: str | None = None, deadline: float | None = None
    ) -> dict[str, OffboardingRecord]:
        """The most recent offboarding of each employment (absent: none), one search per up to 100 distinct ids.

        :param employment_ids: employment ids.
        :param user_id_type: id type of the ids; ``None`` = the connection's default.
        :param deadline: as in :meth:`search_offboardings`, for every search.
        """
        return self.get_conn().lookup_offboardings(employment_ids, user_id_type=user_id_type, deadline=deadline)

    # -- async path (triggers) and bounded calls (sensors) ---------------------------------------------------

    async def aget_settings(self) -> ClientSettings:
        """Async twin of :attr:`settings`: the connection is read once per hook with Airflow's async connection
        API, and the App Secret is registered with the secret masker (``amask_secret`` where Airflow has it).

        :raises FeishuInvalidInputError: naming the connection when it is not defined or not usable.
        """
        cached: ClientSettings | None = self.__dict__.get("_async_settings")
        if cached is not None:
            return cached
        from airflow.providers.common.compat.connection import get_async_connection

        conn_id = check_conn_id(self.feishu_conn_id)
        try:
            conn = await get_async_connection(conn_id)
        except _not_found_error():
            raise not_found(conn_id) from None
        if conn.password:
            await amask(conn.password)
        settings = settings_from_connection(conn)
        if settings.rate_limit_scope == "redis":
            try:
                redis_conn = await get_async_connection(settings.rate_limit_redis_conn_id)
            except _not_found_error():
                raise redis_not_found(settings.rate_limit_redis_conn_id, conn_id) from None
            if redis_conn.password:
                await amask(redis_conn.password)
            settings = with_redis(settings, redis_conn, feishu_conn_id=conn_id)
        self.__dict__["_async_settings"] = settings
        return settings

    def async_client(self, settings: ClientSettings) -> AsyncFeishuClient:
        """An async client for ``settings`` that masks every token with the async masker before it is sent
        (``aon_token``), and names the settings' connection when Feishu refuses its credentials.

        :param settings: settings from :meth:`aget_settings`.
        """
        from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient  # httpx: on first use, not at parse

        return AsyncFeishuClient(settings, aon_token=amask)

    async def aget_conn(self) -> AsyncFeishuClient:
        """A new async client of this connection (close it with ``aclose`` or ``async with``)."""
        return self.async_client(await self.aget_settings())

    def test_connection(self) -> tuple[bool, str]:
        """Check the connection by obtaining a new tenant access token, and nothing else (no read, no write).

        :return: ``(True, message)`` on success, ``(False, message)`` with the Feishu code and log id on failure,
            or naming the bad field (not the connection id: the UI and API test a copy under a random id);
            never raises.
        """
        try:
            self.get_conn().fetch_token(fresh=True)
        except FeishuConnectionFieldError as error:
            return False, f"Connection field {error.field}: {error.rule}"
        except FeishuCredentialsError as error:
            return False, f"Feishu refused the App ID and App Secret: {error.refused}"
        except FeishuError as error:
            return False, str(error)
        except Exception as error:  # test_connection must report, never raise
            return False, f"{type(error).__name__}: {error}"
        return True, f"Obtained a tenant access token from {self.settings.base_url} for app {self.settings.app_id}"


def _not_found_error() -> type[Exception]:
    """Airflow's "connection not defined" exception: from common-compat, else (older compat, Airflow 2.x) from
    ``airflow.exceptions``."""
    try:
        from airflow.providers.common.compat.sdk import AirflowNotFoundException
    except ImportError:  # an older common-compat (Airflow 2.x)
        from airflow.exceptions import AirflowNotFoundException  # type: ignore[attr-defined,unused-ignore]
    return AirflowNotFoundException
