"""Privacy mode's hash: the key an app's values are hashed with, and the hash of one value (``docs/privacy.md``).

The one home of the rule, framework-free, so that every component holding HR values applies the same one: the
operators (:mod:`..operators.privacy` walks their reports, plans and rendered template fields), the sensor's XCom
and the status trigger's event (:func:`hide_summary`), the asset watcher's event payload (:func:`hide_payload`).
A value becomes ``hmac-sha256:<64 hex>``, an HMAC-SHA256 keyed with :func:`privacy_key` (derived from the
connection's App Secret) over the field name and the value in wire form (:func:`digest`): the same value of the
same field hashes the same in every run of the same app, so a later run or an auditor holding the App Secret can
check equality, and nobody without it can test guesses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_feishu_corehr.client.models import ClientSettings

PREFIX = "hmac-sha256:"
"""What every hashed value starts with."""
KEY_LABEL = b"airflow-provider-feishu-corehr/privacy/v1"
"""The fixed label the hashing key is derived with from the App Secret."""
_DIGEST = re.compile(r"hmac-sha256:[0-9a-f]{64}\Z")

SUMMARY_VALUES = ("offboarding_date", "expected_offboarding_date")
"""The keys of a record summary (:meth:`~.models.OffboardingRecord.summary`) that carry HR values; ids,
``status`` and ``checklist_status`` (workflow states) are kept."""
PAYLOAD_VALUES = (*SUMMARY_VALUES, "apply_initiating_time")
"""The keys of the asset watcher's event payload that carry HR values, besides every value of its ``fields``."""


def privacy_key(app_secret: str) -> bytes:
    """The hashing key of an app: HMAC-SHA256 of :data:`KEY_LABEL` keyed with the App Secret.

    :param app_secret: the connection's App Secret.
    """
    return hmac.new(app_secret.encode("utf-8"), KEY_LABEL, hashlib.sha256).digest()


def key_for(settings: ClientSettings) -> bytes | None:
    """The hashing key when the connection's extra ``privacy`` is on, else ``None``.

    :param settings: the connection's client settings.
    """
    return privacy_key(settings.app_secret) if settings.privacy else None


def is_digest(value: Any) -> bool:
    """Whether ``value`` is already a hashed value (``hmac-sha256:`` and 64 hex digits).

    :param value: any value.
    """
    return isinstance(value, str) and _DIGEST.match(value) is not None


def digest(key: bytes, field_name: str, value: Any) -> str | None:
    """The hashed form of one value: ``hmac-sha256:`` + hex HMAC-SHA256 of the compact JSON array
    ``[field_name, value]`` (UTF-8, ``ensure_ascii=False``); ``None`` stays ``None`` (no value read), a value
    already hashed stays as it is.

    :param key: from :func:`privacy_key`.
    :param field_name: the field the value belongs to.
    :param value: the value in wire form (a string); anything else is hashed as its compact JSON text (an object
        with a ``text`` attribute holding a hash, the operators' ``Hashed``, gives that hash).
    """
    if value is None:
        return None
    text_attr = getattr(value, "text", None)
    if not isinstance(value, str) and is_digest(text_attr):
        return str(text_attr)
    if is_digest(value):
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    message = json.dumps([field_name, text], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()


def hide_summary(summary: Mapping[str, Any], key: bytes | None) -> dict[str, Any]:
    """A record summary (the sensor's XCom, the status trigger's event) with the values of
    :data:`SUMMARY_VALUES` hashed; unchanged (a copy) when ``key`` is ``None``.

    :param summary: one summary.
    :param key: the hashing key, or ``None`` (privacy off).
    """
    if key is None:
        return dict(summary)
    return {k: digest(key, k, v) if k in SUMMARY_VALUES else v for k, v in summary.items()}


def hide_payload(payload: Mapping[str, Any], key: bytes | None) -> dict[str, Any]:
    """The asset watcher's event payload with the values of :data:`PAYLOAD_VALUES` and of ``fields`` hashed, and
    ``"privacy": true``; unchanged (a copy) when ``key`` is ``None``.

    :param payload: one event payload.
    :param key: the hashing key, or ``None`` (privacy off).
    """
    if key is None:
        return dict(payload)
    hidden = {k: digest(key, k, v) if k in PAYLOAD_VALUES else v for k, v in payload.items()}
    fields = payload.get("fields")
    if isinstance(fields, dict):
        hidden["fields"] = {str(k): digest(key, str(k), v) for k, v in fields.items()}
    return {**hidden, "privacy": True}
