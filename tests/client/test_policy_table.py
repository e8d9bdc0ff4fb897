"""The retry table of ``client/policy.py``, row by row, without a socket."""

from __future__ import annotations

import json

import pytest

from airflow_provider_feishu_corehr.client import codes
from airflow_provider_feishu_corehr.client.codes import Endpoint, Treatment
from airflow_provider_feishu_corehr.client.errors import (
    FeishuAuthError,
    FeishuBusinessError,
    FeishuRateLimitError,
    FeishuTransientError,
)
from airflow_provider_feishu_corehr.client.policy import Fail, FailureKind, Ok, Refresh, Retry, RetryPolicy

HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>502</body></html>"


def envelope(code: int, msg: str = "m", **extra: object) -> bytes:
    return json.dumps({"code": code, "msg": msg, **extra}).encode()


def policy(**kwargs: object) -> RetryPolicy:
    """A policy whose jitter draw is always 0.5, so delays are exact."""
    params: dict[str, object] = {
        "max_attempts": 5,
        "max_elapsed": 100.0,
        "backoff_base": 1.0,
        "backoff_max": 8.0,
        "rate_limit_wait_max": 10.0,
        "random": lambda: 0.5,
    }
    params.update(kwargs)
    return RetryPolicy(**params)  # type: ignore[arg-type]


def decide(
    body: bytes,
    status: int = 400,
    *,
    endpoint: Endpoint = Endpoint.EDIT,
    headers: dict[str, str] | None = None,
    token_sent: bool = True,
    attempt: int = 1,
    elapsed: float = 0.0,
    refreshed: bool = False,
    accept: frozenset[int] = frozenset(),
    pol: RetryPolicy | None = None,
) -> object:
    return (pol or policy()).decide(
        endpoint,
        status=status,
        headers=headers or {},
        body=body,
        token_sent=token_sent,
        attempt=attempt,
        elapsed=elapsed,
        refreshed=refreshed,
        accept=accept,
    )


# -- row 1: rate limited -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (429, envelope(99991400, "request trigger frequency limit")),
        (400, envelope(99991400, "request trigger frequency limit")),
        (200, envelope(99991400, "request trigger frequency limit")),
        (429, b"Too Many Requests"),  # 429 without a Feishu body is still a rate limit
    ],
)
def test_rate_limited_waits_the_reset_header_plus_jitter(status: int, body: bytes) -> None:
    decision = decide(body, status, headers={"x-ogw-ratelimit-reset": "3", "X-Tt-Logid": "L1"})
    # reset 3 s + jitter 0.5 * min(backoff_base 1.0, backoff_max 8.0)
    assert decision == Retry(
        delay=3.5,
        reason="rate limited",
        code=99991400 if body.startswith(b"{") else None,
        http_status=status,
        log_id="L1",
        rate_limited=True,
    )


def test_rate_limit_reset_header_is_case_insensitive_and_capped() -> None:
    assert isinstance(d := decide(envelope(99991400), 429, headers={"X-OGW-RATELIMIT-RESET": "2"}), Retry)
    assert d.delay == 2.5
    capped = decide(envelope(99991400), 429, headers={"x-ogw-ratelimit-reset": "600"})
    assert isinstance(capped, Retry) and capped.delay == 10.0 + 0.5  # cap rate_limit_wait_max=10


@pytest.mark.parametrize("reset", [None, "soon", "-1", "nan"])
def test_rate_limit_without_usable_reset_header_backs_off(reset: str | None) -> None:
    headers = {} if reset is None else {"x-ogw-ratelimit-reset": reset}
    decision = decide(envelope(99991400), 429, headers=headers, attempt=3)
    assert isinstance(decision, Retry) and decision.delay == 0.5 * 4.0  # full jitter of 1.0 * 2**2


def test_rate_limit_budget_spent_raises_rate_limit_error_with_attempts_elapsed_code_log_id() -> None:
    decision = decide(
        envelope(99991400, "request trigger frequency limit"),
        429,
        headers={"x-ogw-ratelimit-reset": "1", "x-tt-logid": "LOG-9"},
        attempt=5,
        elapsed=7.25,
    )
    assert isinstance(decision, Fail)
    error = decision.error
    assert type(error) is FeishuRateLimitError and not error.permanent
    assert (error.attempts, error.elapsed, error.code) == (5, 7.25, 99991400)
    assert (error.log_id, error.http_status) == ("LOG-9", 429)
    text = str(error)
    for part in ("5 attempt(s) over 7.2s", "code 99991400", "log_id LOG-9", "HTTP 429"):
        assert part in text


def test_rate_limit_wait_that_would_overrun_the_elapsed_budget_fails_now() -> None:
    decision = decide(envelope(99991400), 429, headers={"x-ogw-ratelimit-reset": "5"}, elapsed=96.0)
    assert isinstance(decision, Fail) and isinstance(decision.error, FeishuRateLimitError)


# -- row 2: token invalid ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(codes.TOKEN_INVALID))
@pytest.mark.parametrize("status", [200, 400, 401, 403])
def test_token_invalid_with_any_status_refreshes_once(code: int, status: int) -> None:
    decision = decide(envelope(code), status, headers={"X-Tt-Logid": "L2"})
    assert decision == Refresh(code=code, http_status=status, log_id="L2")


@pytest.mark.parametrize("code", sorted(codes.TOKEN_INVALID))
def test_token_invalid_after_a_refresh_is_an_auth_error(code: int) -> None:
    decision = decide(envelope(code), 400, refreshed=True, attempt=2)
    assert isinstance(decision, Fail) and type(decision.error) is FeishuAuthError
    assert decision.error.code == code and decision.error.permanent
    assert "after one token refresh" in str(decision.error)


def test_need_token_without_a_token_sent_is_not_refreshed() -> None:
    decision = decide(envelope(codes.NEED_TOKEN), 400, token_sent=False)
    assert isinstance(decision, Fail) and type(decision.error) is FeishuAuthError
    assert decide(envelope(codes.NEED_TOKEN), 400, token_sent=True) == Refresh(codes.NEED_TOKEN, 400, None)


def test_token_invalid_on_the_token_endpoint_is_an_auth_error() -> None:
    decision = decide(envelope(99991663), 400, endpoint=Endpoint.TOKEN, token_sent=False)
    assert isinstance(decision, Fail) and type(decision.error) is FeishuAuthError


# -- row 3: network, 5xx, non-JSON -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [kind for kind in FailureKind if kind is not FailureKind.TLS])
def test_transport_failures_back_off_exponentially(kind: FailureKind) -> None:
    pol = policy()
    delays = [pol.decide_failure(Endpoint.SEARCH, kind, attempt=n, elapsed=0.0) for n in (1, 2, 3, 4)]
    assert [d.delay for d in delays if isinstance(d, Retry)] == [0.5, 1.0, 2.0, 4.0]
    assert all(isinstance(d, Retry) and d.reason == kind.value for d in delays)


def test_backoff_is_full_jitter_and_capped() -> None:
    assert policy(random=lambda: 0.0).backoff(4) == 0.0
    assert policy(random=lambda: 0.999).backoff(10) == pytest.approx(0.999 * 8.0)  # capped at backoff_max


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, envelope(500, "internal error")),
        (503, envelope(503, "service unavailable")),
        (502, HTML_502),
        (504, b""),
        (200, b'{"code": 0, "msg": "succ'),  # truncated JSON
        (200, b"[1, 2]"),  # JSON but not an envelope
        (200, b'{"msg": "no code"}'),
        (408, b"Request Timeout"),
        (500, envelope(0)),  # success code with a server error status: not trusted
    ],
)
def test_server_errors_and_bodies_that_are_not_envelopes_are_retried(status: int, body: bytes) -> None:
    decision = decide(body, status, attempt=2, endpoint=Endpoint.SEARCH)
    assert isinstance(decision, Retry) and decision.delay == 1.0 and decision.http_status == status
    assert not decision.rate_limited  # only row 2 counts as rate limited (the progress line counts those)


@pytest.mark.parametrize("status", [404, 405, 403])
def test_a_4xx_page_that_is_not_json_fails_at_once(status: int) -> None:
    decision = decide(HTML_502, status)
    assert isinstance(decision, Fail) and type(decision.error) is FeishuBusinessError
    assert "base URL" in str(decision.error)


def test_transient_budget_spent_by_attempts() -> None:
    decision = decide(HTML_502, 502, attempt=5, elapsed=3.0, headers={"x-tt-logid": "L3"})
    assert isinstance(decision, Fail) and type(decision.error) is FeishuTransientError
    assert (decision.error.attempts, decision.error.log_id, decision.error.http_status) == (5, "L3", 502)
    failure = policy().decide_failure(Endpoint.SEARCH, FailureKind.RESET, attempt=5, elapsed=1.0)
    assert isinstance(failure, Fail) and type(failure.error) is FeishuTransientError
    assert "connection reset" in str(failure.error) and "5 attempt(s)" in str(failure.error)


def test_transient_budget_spent_by_time() -> None:
    # attempt 3 would sleep 0.5 * 4 = 2 s; 99 s spent of 100 s
    decision = decide(HTML_502, 502, attempt=3, elapsed=99.0)
    assert isinstance(decision, Fail) and type(decision.error) is FeishuTransientError
    assert decision.error.attempts == 3


# -- row 4: documented system errors -----------------------------------------------------------------------

SYSTEM_ERRORS = [
    (endpoint, code)
    for endpoint, table in codes.BY_ENDPOINT.items()
    for code, info in table.items()
    if info.treatment is Treatment.RETRY
]


def test_documented_system_errors_are_the_ones_design_md_names() -> None:
    assert sorted(SYSTEM_ERRORS) == sorted(
        [
            (Endpoint.REVOKE, 1160101),
            (Endpoint.REVOKE, 1160103),
            (Endpoint.REVOKE, 1160204),
            (Endpoint.EDIT, 1160103),
            (Endpoint.EDIT, 1161000),
            (Endpoint.SEARCH, 1160999),
        ]
    )


@pytest.mark.parametrize(("endpoint", "code"), SYSTEM_ERRORS)
def test_documented_system_errors_back_off_then_give_up_as_transient(endpoint: Endpoint, code: int) -> None:
    retry = decide(envelope(code), 400, endpoint=endpoint, attempt=1)
    assert isinstance(retry, Retry) and retry.code == code and retry.delay == 0.5
    spent = decide(envelope(code), 400, endpoint=endpoint, attempt=5, headers={"X-Tt-Logid": "L4"})
    assert isinstance(spent, Fail) and type(spent.error) is FeishuTransientError
    assert spent.error.advice and spent.error.log_id == "L4"


# -- row 5: everything else is permanent -------------------------------------------------------------------

PERMANENT = [
    (endpoint, code, info)
    for endpoint, table in codes.BY_ENDPOINT.items()
    for code, info in {**codes.COMMON, **table}.items()
    if info.treatment is not Treatment.RETRY and code not in codes.TOKEN_INVALID and code != codes.RATE_LIMITED
]


@pytest.mark.parametrize(("endpoint", "code", "info"), PERMANENT, ids=lambda v: getattr(v, "value", str(v)))
def test_other_documented_codes_fail_at_once_with_advice(endpoint: Endpoint, code: int, info: codes.CodeInfo) -> None:
    decision = decide(envelope(code, info.msg), info.http_status, endpoint=endpoint, headers={"x-tt-logid": "L5"})
    assert isinstance(decision, Fail)
    error = decision.error
    auth = info.treatment is Treatment.AUTH or endpoint is Endpoint.TOKEN
    assert type(error) is (FeishuAuthError if auth else FeishuBusinessError)
    assert error.permanent
    assert (error.code, error.msg, error.advice, error.log_id, error.endpoint) == (
        code,
        info.msg,
        info.advice,
        "L5",
        endpoint.value,
    )


def test_the_same_code_means_different_things_per_endpoint() -> None:
    revoke = decide(envelope(1160204), endpoint=Endpoint.REVOKE)
    edit = decide(envelope(1160204), endpoint=Endpoint.EDIT)
    assert isinstance(revoke, Retry)  # concurrent revoke: retry later
    assert isinstance(edit, Fail) and type(edit.error) is FeishuBusinessError  # has future contract


def test_undocumented_code_with_4xx_is_a_business_error_and_with_5xx_is_retried() -> None:
    unknown = decide(envelope(1234567, "something new"), 400)
    assert isinstance(unknown, Fail) and type(unknown.error) is FeishuBusinessError
    assert unknown.error.msg == "something new" and unknown.error.advice is None
    assert isinstance(decide(envelope(1234567), 500, endpoint=Endpoint.SEARCH), Retry)


def test_undocumented_code_on_the_token_endpoint_is_an_auth_error() -> None:
    decision = decide(envelope(10999), 400, endpoint=Endpoint.TOKEN, token_sent=False)
    assert isinstance(decision, Fail) and type(decision.error) is FeishuAuthError


# -- answers -----------------------------------------------------------------------------------------------


def test_code_zero_is_an_answer_with_the_header_log_id() -> None:
    decision = decide(envelope(0, "success", data={"x": 1}), 200, headers={"x-tt-logid": "HDR"})
    assert isinstance(decision, Ok)
    assert (decision.reply.code, decision.reply.log_id, dict(decision.reply.data)) == (0, "HDR", {"x": 1})


def test_log_id_falls_back_to_error_log_id_in_the_body() -> None:
    decision = decide(envelope(1160625, error={"log_id": "BODY-LOG"}), 400)
    assert isinstance(decision, Fail) and decision.error.log_id == "BODY-LOG"
    both = decide(envelope(1160625, error={"log_id": "BODY-LOG"}), 400, headers={"X-Tt-Logid": "HDR"})
    assert isinstance(both, Fail) and both.error.log_id == "HDR"


def test_an_accepted_code_is_an_answer() -> None:
    decision = decide(envelope(1160202), 400, endpoint=Endpoint.REVOKE, accept=frozenset({1160202}))
    assert isinstance(decision, Ok) and decision.reply.code == 1160202
    refused = decide(envelope(1160202), 400, endpoint=Endpoint.REVOKE)
    assert isinstance(refused, Fail) and type(refused.error) is FeishuBusinessError
