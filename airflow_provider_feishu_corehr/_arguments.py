"""Argument handling shared by the operators and the sensor: what is final at parse time, and its error type.

Only arguments that are final when the DAG file is parsed are checked in ``__init__``; templated ones (Jinja
text, an ``XComArg``) are checked after rendering, before any request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_feishu_corehr.client.errors import FeishuInvalidInputError

_TEMPLATE_MARKERS = ("{{", "{%", "{#")


class InvalidOperatorArgumentError(FeishuInvalidInputError, AirflowFailException):
    """A bad argument found while the operator or sensor is built, or after its fields were rendered.

    When a DAG file is parsed it is an import error of the DAG. When a mapped task is expanded at run time
    (``.partial().expand()`` builds the operator then), it fails the task without retry: the same input would
    fail again.
    """


@contextmanager
def invalid_argument(prefix: str = "") -> Iterator[None]:
    """Turn a :class:`FeishuInvalidInputError` raised inside the block into :class:`InvalidOperatorArgumentError`.

    :param prefix: put in front of the message (e.g. ``"task_id: "``).
    """
    try:
        yield
    except InvalidOperatorArgumentError:
        raise
    except FeishuInvalidInputError as err:
        raise InvalidOperatorArgumentError(f"{prefix}{err.msg}") from None


def is_static(value: Any) -> bool:
    """True when ``value`` is final at DAG parse time: no Jinja markers and no reference to an XCom.

    :param value: an operator argument as given to ``__init__``.
    """
    if isinstance(value, str):
        return not any(marker in value for marker in _TEMPLATE_MARKERS)
    if hasattr(value, "resolve") and hasattr(value, "iter_references"):  # XComArg and other lazy references
        return False
    if isinstance(value, Mapping):
        return all(is_static(k) and is_static(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return all(is_static(item) for item in value)
    return True
