"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

Imports only the package version and the connection's field description (no Airflow, no HTTP library): Airflow
calls it on every start of every process. The connection form is generated from
:mod:`~airflow_provider_feishu_corehr.hooks.connection_fields`.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_feishu_corehr import __version__
from airflow_provider_feishu_corehr.hooks.connection_fields import CONN_TYPE, HOOK_NAME, conn_fields, ui_field_behaviour

PACKAGE_NAME = "airflow-provider-feishu-corehr"
_MODULE = "airflow_provider_feishu_corehr"
_INTEGRATION = "Feishu People (CoreHR)"


def get_provider_info() -> dict[str, Any]:
    """Return the provider info dict (validated against Airflow's ``provider_info.schema.json`` in tests)."""
    return {
        "package-name": PACKAGE_NAME,
        "name": _INTEGRATION,
        "description": "Revoke and edit Feishu People (飞书人事) offboardings and wait for their status.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/corehr-v2/offboarding/revoke",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": [f"{_MODULE}.hooks.feishu"]}],
        "operators": [{"integration-name": _INTEGRATION, "python-modules": [f"{_MODULE}.operators.offboarding"]}],
        "sensors": [{"integration-name": _INTEGRATION, "python-modules": [f"{_MODULE}.sensors.offboarding"]}],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    f"{_MODULE}.triggers.offboarding",
                    f"{_MODULE}.triggers.offboarding_events",
                    f"{_MODULE}.triggers.offboarding_push",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": f"{_MODULE}.hooks.feishu.FeishuHook",
                "hook-name": HOOK_NAME,
                "ui-field-behaviour": ui_field_behaviour(),
                "conn-fields": conn_fields(),
            }
        ],
    }
