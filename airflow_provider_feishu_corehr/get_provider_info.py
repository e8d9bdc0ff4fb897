"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

Kept free of imports: Airflow calls it on every start of every process.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_feishu_corehr import __version__

PACKAGE_NAME = "airflow-provider-feishu-corehr"
_MODULE = "airflow_provider_feishu_corehr"
_INTEGRATION = "Feishu People (CoreHR)"


def get_provider_info() -> dict[str, Any]:
    """Return the provider info dict (validated against Airflow's ``provider_info.schema.json`` in tests)."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Feishu People (CoreHR)",
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
        "triggers": [{"integration-name": _INTEGRATION, "python-modules": [f"{_MODULE}.triggers.offboarding"]}],
        "connection-types": [
            {
                "connection-type": "feishu",
                "hook-class-name": f"{_MODULE}.hooks.feishu.FeishuHook",
                "hook-name": "Feishu",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "extra"],
                    "relabeling": {"login": "App ID", "password": "App Secret", "host": "Base URL"},
                    "placeholders": {
                        "login": "cli_a1b2c3d4e5f6",
                        "password": "App Secret from the Feishu developer console",
                        "host": "https://open.feishu.cn (leave empty to use the Domain field)",
                    },
                },
                "conn-fields": {
                    "domain": {
                        "label": "Domain",
                        "description": "feishu (open.feishu.cn) or lark (open.larksuite.com); Base URL wins when set",
                        "schema": {"type": ["string", "null"], "enum": ["feishu", "lark", None], "default": "feishu"},
                    },
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "description": "Wall-clock limit of one HTTP attempt: connect, headers and the whole body",
                        "schema": {"type": ["number", "null"], "default": 30, "exclusiveMinimum": 0},
                    },
                    "max_attempts": {
                        "label": "Retry budget (attempts)",
                        "description": "Attempts per API call for rate limits and transient errors, the first included",
                        "schema": {"type": ["integer", "null"], "default": 5, "minimum": 1},
                    },
                    "user_id_type": {
                        "label": "Default user_id_type",
                        "schema": {
                            "type": ["string", "null"],
                            "enum": ["people_corehr_id", "open_id", "union_id", "user_id", None],
                            "default": "people_corehr_id",
                        },
                    },
                    "rate_limits": {
                        "label": "Rate-limit overrides",
                        "description": (
                            'Empty: documented limits. JSON, e.g. {"revoke": 10, "search": "50/60", "edit": null}; '
                            '"off" switches every limiter off'
                        ),
                        "schema": {"type": ["object", "string", "null"]},
                    },
                    "rate_limit_scope": {
                        "label": "Rate-limit scope",
                        "description": (
                            "Who shares one client-side schedule: process, or host (every process of the machine, "
                            "through a SQLite file)"
                        ),
                        "schema": {"type": ["string", "null"], "enum": ["process", "host", None], "default": "process"},
                    },
                    "rate_limit_share": {
                        "label": "Rate-limit share",
                        "description": "Part of each limit the scope may use, 0 < share <= 1 (e.g. 0.5 on two hosts)",
                        "schema": {"type": ["number", "null"], "default": 1, "exclusiveMinimum": 0, "maximum": 1},
                    },
                    "rate_limit_store": {
                        "label": "Rate-limit store",
                        "description": "Path of the host schedule's SQLite file on local disk; empty: the temp folder",
                        "schema": {"type": ["string", "null"]},
                    },
                },
            }
        ],
    }
