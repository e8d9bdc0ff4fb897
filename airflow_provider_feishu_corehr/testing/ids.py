"""Person ids per ``user_id_type``: records hold People (CoreHR) employment ids; other types are derived.

Feishu returns different ids for the same person per ``user_id_type`` (search defaults to ``open_id``), so a
client that forgets to send ``user_id_type`` sees ids it cannot match. Derived forms are stable hashes:
``open_id`` ``ou_<32 hex>``, ``union_id`` ``on_<32 hex>``, ``user_id`` ``<8 hex>``.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.testing.api_pages import USER_ID_TYPES

if TYPE_CHECKING:
    from collections.abc import Iterable

CORE = "people_corehr_id"


def as_type(employment_id: str, user_id_type: str) -> str:
    """``employment_id`` expressed in ``user_id_type``."""
    if user_id_type == CORE:
        return employment_id
    digest = hashlib.sha256(f"{user_id_type}:{employment_id}".encode()).hexdigest()
    if user_id_type == "open_id":
        return "ou_" + digest[:32]
    if user_id_type == "union_id":
        return "on_" + digest[:32]
    if user_id_type == "user_id":
        return digest[:8]
    raise ValueError(f"user_id_type must be one of {', '.join(USER_ID_TYPES)}, got {user_id_type!r}")


def to_employment(value: str, user_id_type: str, known: Iterable[str]) -> str | None:
    """The employment id that ``value`` (in ``user_id_type``) names among ``known``, or None."""
    if user_id_type == CORE:
        return value if value in set(known) else None
    return next((emp for emp in known if as_type(emp, user_id_type) == value), None)


def new_numeric_id(prefix: str) -> str:
    """A fresh 19-digit id string starting with ``prefix`` (offboarding ids, process ids)."""
    return prefix + "".join(secrets.choice("0123456789") for _ in range(19 - len(prefix)))
