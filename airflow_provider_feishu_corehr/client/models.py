"""Small typed values that cross the client boundary: settings in, results out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FEISHU_BASE_URL = "https://open.feishu.cn"
LARK_BASE_URL = "https://open.larksuite.com"
DEFAULT_USER_ID_TYPE = "people_corehr_id"
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PAGES = 1000
USER_ID_TYPES = ("open_id", "union_id", "user_id", "people_corehr_id")
OFFBOARDING_STATUSES = ("Approving", "Approved", "Offboarded", "Rejected", "Withdrawn", "NoNeedApproval")


@dataclass(frozen=True)
class RedisServer:
    """The Redis server of the ``redis`` rate-limit scope, read from an Airflow connection of type ``redis`` by
    ``hooks/connection.py`` (the fields ``RedisHook`` reads: host, port, login, password, the ``db`` extra or the
    URI's path, the ``ssl*`` extras).

    :param conn_id: the Airflow connection it was read from (log lines name it, never the password).
    :param host: host name or address.
    :param port: TCP port.
    :param db: database number.
    :param username: ACL user name, or ``None``.
    :param password: password, or ``None``; excluded from ``repr``.
    :param ssl: ``(name, value)`` pairs of redis-py's TLS arguments (``ssl``, ``ssl_cert_reqs``, ``ssl_ca_certs``,
        ``ssl_certfile``, ``ssl_keyfile``, ``ssl_check_hostname``).
    """

    conn_id: str
    host: str
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl: tuple[tuple[str, str | bool], ...] = ()


@dataclass(frozen=True)
class ClientSettings:
    """Everything the client needs, already validated (``hooks/connection.py`` builds it from a connection).

    Every field but the first three is the connection extra of the same name, described (meaning, bounds, default)
    in ``hooks/connection_fields.py``; ``rate_limits`` maps an endpoint name to ``(requests, window seconds)`` or
    ``None`` (limiter off), and ``proxy`` ``None`` means "from the environment" (:mod:`.network`). Not an extra:
    ``rate_limit_redis``, the server the ``rate_limit_redis_conn_id`` connection describes (scope ``redis`` only),
    and ``conn_id``, the connection the settings were read from (``None``: none), which a refusal of the
    credentials names (:class:`~.errors.FeishuCredentialsError`).

    :param base_url: origin only, e.g. ``https://open.feishu.cn`` (``http://`` only for loopback hosts).
    :param app_id: the App ID.
    :param app_secret: the App Secret; excluded from ``repr``.
    """

    base_url: str
    app_id: str
    app_secret: str = field(repr=False)
    timeout: float = 30.0
    max_attempts: int = 5
    max_elapsed: float = 120.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    rate_limit_wait_max: float = 60.0
    user_id_type: str = DEFAULT_USER_ID_TYPE
    rate_limits: dict[str, tuple[int, float] | None] = field(default_factory=dict)
    rate_limit_scope: str = "process"
    rate_limit_share: float = 1.0
    rate_limit_store: str | None = None
    rate_limit_redis_conn_id: str = "redis_default"
    rate_limit_redis: RedisServer | None = None  # the server rate_limit_redis_conn_id names (scope redis)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_pages: int = DEFAULT_MAX_PAGES
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    proxy: str | None = field(default=None, repr=False)  # may carry proxy credentials
    privacy: bool = False  # privacy mode (client/privacy.py, docs/privacy.md)
    conn_id: str | None = None  # not an extra: a label, the connection named when Feishu refuses the credentials


@dataclass(frozen=True)
class FieldValue:
    """One ``update_data`` entry as sent to the edit endpoint (both parts are strings on the wire)."""

    field_name: str
    value: str

    def to_json(self) -> dict[str, str]:
        return {"field_name": self.field_name, "value": self.value}


@dataclass(frozen=True)
class RevokeResult:
    """Outcome of one revoke. ``already_withdrawn`` is True when Feishu answered 1160202;
    ``after_ambiguous_attempt`` when an earlier attempt of the same call may have reached Feishu without a definite
    answer: a 1160202 then most likely answers our own earlier attempt (``docs/transport.md``, "Outcome unknown")."""

    offboarding_id: str
    already_withdrawn: bool
    log_id: str | None
    after_ambiguous_attempt: bool = False


@dataclass(frozen=True)
class EditResult:
    """Outcome of one edit, with the fields Feishu echoed back."""

    offboarding_id: str
    fields: tuple[FieldValue, ...]
    log_id: str | None


@dataclass(frozen=True)
class OffboardingRecord:
    """One item of ``/corehr/v1/offboardings/search``, flattened to what pipelines need.

    ``raw`` keeps the whole item for callers that need more; it may hold personal data, so never log it.
    """

    offboarding_id: str
    employment_id: str | None
    status: str
    expected_offboarding_date: str | None
    offboarding_date: str | None
    checklist_status: str | None
    apply_initiating_time: str | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def summary(self) -> dict[str, str | None]:
        """A small JSON-safe dict without personal fields (for XCom and logs)."""
        return {
            "offboarding_id": self.offboarding_id,
            "employment_id": self.employment_id,
            "status": self.status,
            "offboarding_date": self.offboarding_date,
            "expected_offboarding_date": self.expected_offboarding_date,
            "checklist_status": self.checklist_status,
        }
