"""The shared attempt loop (``client/exchange.py``) driven by a scripted transport, without a socket."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_feishu_corehr.client.api import ApiRequest
from airflow_provider_feishu_corehr.client.codes import Endpoint
from airflow_provider_feishu_corehr.client.errors import FeishuAuthError, FeishuTransientError
from airflow_provider_feishu_corehr.client.exchange import (
    DropToken,
    GetToken,
    HttpResponse,
    Send,
    Sleep,
    TransportFailure,
    exchange,
)
from airflow_provider_feishu_corehr.client.policy import FailureKind, Reply, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Iterator


def ok(code: int = 0) -> HttpResponse:
    return HttpResponse(200, {"X-Tt-Logid": f"log-{code}"}, json.dumps({"code": code, "msg": "", "data": {}}).encode())


def refused(status: int = 400) -> HttpResponse:
    return HttpResponse(status, {}, json.dumps({"code": 99991663, "msg": "Invalid access token"}).encode())


def run(
    responses: list[HttpResponse | TransportFailure], *, max_attempts: int = 5, endpoint: Endpoint = Endpoint.EDIT
) -> tuple[list[str], Reply | None]:
    """Drive the loop; return the trace of actions and the reply (or raise what the loop raised)."""
    policy = RetryPolicy(max_attempts=max_attempts, backoff_base=1.0, backoff_max=4.0, random=lambda: 1.0)
    steps = exchange(policy, ApiRequest(endpoint), clock=iter(range(1000)).__next__, timeout=30.0)
    tokens: Iterator[str] = iter(["tok-1", "tok-2", "tok-3"])
    current = next(tokens)  # what the cache holds; a drop makes the next GetToken fetch a new one
    pending = iter(responses)
    trace: list[str] = []
    result: Any = None
    try:
        while True:
            action = steps.send(result)
            if isinstance(action, GetToken):
                result = current
                trace.append(f"token {result}")
            elif isinstance(action, Send):
                trace.append(f"send with {action.token}")
                result = next(pending)
            elif isinstance(action, Sleep):
                trace.append(f"sleep {action.seconds:g}")
                result = None
            elif isinstance(action, DropToken):
                trace.append(f"drop {action.token}")
                current = next(tokens)
                result = None
    except StopIteration as done:
        return trace, done.value


def test_refused_token_is_dropped_refreshed_and_the_request_replayed_once() -> None:
    trace, reply = run([refused(200), ok()])
    assert trace == ["token tok-1", "send with tok-1", "drop tok-1", "token tok-2", "send with tok-2"]
    assert reply is not None and reply.code == 0


def test_second_refusal_after_refresh_is_an_auth_error() -> None:
    with pytest.raises(FeishuAuthError) as caught:
        run([refused(400), refused(400), ok()])
    assert caught.value.attempts == 2 and caught.value.code == 99991663


def test_token_replay_is_allowed_even_with_a_budget_of_one_attempt() -> None:
    trace, reply = run([refused(), ok()], max_attempts=1)
    assert reply is not None and trace.count("send with tok-2") == 1


def test_transient_failures_sleep_with_growing_backoff_then_succeed() -> None:
    trace, reply = run(
        [TransportFailure(FailureKind.RESET), HttpResponse(503, {}, b"x"), ok()], endpoint=Endpoint.REVOKE
    )
    assert [t for t in trace if t.startswith("sleep")] == ["sleep 1", "sleep 2"]
    assert trace.count("send with tok-1") == 3 and reply is not None


def test_budget_spent_raises_with_attempts_and_elapsed() -> None:
    with pytest.raises(FeishuTransientError) as caught:
        run([TransportFailure(FailureKind.TIMEOUT)] * 3, max_attempts=3, endpoint=Endpoint.SEARCH)
    error = caught.value
    # The fake clock ticks 1 s per reading; the loop reads it twice per attempt (before sending, after the answer).
    assert error.attempts == 3 and error.elapsed == 6.0
    assert "timeout" in str(error) and "3 attempt(s) over 6.0s" in str(error)


def test_actions_never_show_the_token_in_repr() -> None:
    assert "tok-secret" not in repr(Send(ApiRequest(Endpoint.EDIT), "tok-secret"))
    assert "tok-secret" not in repr(DropToken("tok-secret"))
