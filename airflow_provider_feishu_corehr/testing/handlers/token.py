"""``POST /open-apis/auth/v3/tenant_access_token/internal`` (no token needed).

The body is read as JSON whatever the ``Content-Type`` (also without one). Missing or non-string ``app_id`` /
``app_secret``, a body that is not a JSON object, or an unknown ``app_id`` answer 10003 "invalid parameter"; a
wrong secret answers 10014 "app secret invalid". The pages leave open whether the live server uses 10014 or
10015 for a wrong secret; 10014 is what field reports show (``docs/decisions.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_feishu_corehr.testing import wire
from airflow_provider_feishu_corehr.testing.api_pages import Endpoint

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing.handlers import Call

INVALID_PARAMETER = 10003
WRONG_SECRET = 10014


def handle(call: Call) -> wire.Response:
    try:
        body = wire.json_object(call.request.body)
    except wire.BadJson:
        return wire.error(Endpoint.TOKEN, INVALID_PARAMETER, call.log_id)
    app_id, secret = body.get("app_id"), body.get("app_secret")
    if not isinstance(app_id, str) or not app_id or not isinstance(secret, str) or not secret:
        return wire.error(Endpoint.TOKEN, INVALID_PARAMETER, call.log_id)
    expected = call.apps.get(app_id)
    if expected is None:
        return wire.error(Endpoint.TOKEN, INVALID_PARAMETER, call.log_id)
    call.app_id = app_id
    if secret != expected:
        return wire.error(Endpoint.TOKEN, WRONG_SECRET, call.log_id)
    token, expire = call.tokens.grant(app_id)
    return wire.json_response(200, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": expire})
