"""With DEBUG logging everywhere, the failure scenarios leak neither the App Secret nor any token.

Every token the clients used is collected through ``on_token`` (it is called for each new token before it is
sent); the scenarios cover a wrong secret, token invalidation with refresh, every fault kind, spent budgets,
business errors and ``test_connection``, through the sync client, the async client and the hook. Log records
(``requests``/``urllib3``/``httpx``/``httpcore`` included), captured stdout/stderr and the text of every
exception are searched.

The hook part runs last: the hook registers the App Secret and its tokens with Airflow's secret masker, which
redacts them in records emitted from then on; the client parts before it prove that nothing logs them at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

import pytest
from client_helpers import APPROVED, DATE

from airflow_provider_feishu_corehr.client.errors import FeishuError

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_feishu_corehr.client.aio import AsyncFeishuClient
    from airflow_provider_feishu_corehr.client.sync import FeishuClient
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

pytestmark = pytest.mark.feishu_emulator(rate_limits="off", apps={"cli_leak": "leak-test-app-secret-0123456789"})

FAULTS = ["http_500", "http_503", "html_502", "bad_json", "reset", "rate_limit_429", "rate_limit_400", "system_error"]


def test_no_secret_or_token_in_logs_or_errors(
    feishu_emulator: FeishuEmulator,
    make_client: Callable[..., FeishuClient],
    make_async_client: Callable[..., AsyncFeishuClient],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = feishu_emulator.app_secret
    tokens: list[str] = []
    errors: list[BaseException] = []

    def attempt(call: Callable[[], object]) -> None:
        try:
            call()
        except FeishuError as error:
            errors.append(error)

    # sync client: success, refresh after invalidation, every fault once, spent budget, business error
    client = make_client(on_token=tokens.append, max_attempts=2)
    attempt(lambda: client.edit_offboarding(APPROVED, DATE))
    feishu_emulator.invalidate_tokens()
    attempt(lambda: client.edit_offboarding(APPROVED, DATE))
    for kind in FAULTS:
        feishu_emulator.inject_fault("*", kind, **({"reset": 0} if kind.startswith("rate") else {}))
        attempt(lambda: client.edit_offboarding(APPROVED, DATE))
    feishu_emulator.inject_fault("edit", "http_503", count=3)
    attempt(lambda: client.edit_offboarding(APPROVED, DATE))
    feishu_emulator.invalidate_tokens()
    feishu_emulator.inject_fault("token", "html_502", count=3)
    attempt(lambda: client.edit_offboarding(APPROVED, DATE))
    attempt(lambda: client.edit_offboarding("7095671727698478699", DATE))
    attempt(lambda: client.revoke_offboarding("7095671727698478607"))
    attempt(lambda: list(client.search_offboardings(statuses="Approved")))

    # wrong secret for an app id whose token is cached
    attempt(lambda: make_client(app_secret="leak-test-wrong-secret-987").edit_offboarding(APPROVED, DATE))

    # async client
    async def run_async() -> None:
        async with make_async_client(on_token=tokens.append, max_attempts=2) as aclient:
            feishu_emulator.invalidate_tokens()
            try:
                await aclient.get_offboarding("6982509313466189341")
                for kind in FAULTS:
                    feishu_emulator.inject_fault("search", kind)
                    await aclient.get_offboarding("6982509313466189341")
                feishu_emulator.inject_fault("search", "http_500", count=3)
                await aclient.get_offboarding("6982509313466189341")
            except FeishuError as error:
                errors.append(error)

    asyncio.run(run_async())

    # the hook, test_connection included (mask_secret is its on_token)
    from airflow_provider_feishu_corehr.hooks.feishu import FeishuHook

    base = {"conn_type": "feishu", "login": feishu_emulator.app_id, "host": feishu_emulator.base_url}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_LEAK", json.dumps({**base, "password": secret}))
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_LEAK_BAD", json.dumps({**base, "password": "leak-test-wrong-secret-987"}))
    hook = FeishuHook("feishu_leak")
    assert hook.test_connection()[0]
    tokens.append(hook.get_conn().fetch_token())
    assert not FeishuHook("feishu_leak_bad").test_connection()[0]
    feishu_emulator.invalidate_tokens()
    hook.edit_offboarding(APPROVED, DATE)
    tokens.append(hook.get_conn().fetch_token())

    out, err = capfd.readouterr()
    logged = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records)
    error_text = "\n".join(f"{e!s} {e!r} {e.args!r}" for e in errors)
    everything = "\n".join([logged, out, err, error_text])

    assert len(set(tokens)) >= 5, "the scenarios must have used several tokens"
    assert len(errors) >= 5 and any(r.levelno == logging.DEBUG for r in caplog.records)
    assert "retrying in" in logged and "refreshing and replaying" in logged  # the client did log its decisions
    for needle in [secret, "leak-test-wrong-secret-987", *tokens]:
        assert needle not in everything
    assert "Bearer" not in everything and "app_secret" not in everything
