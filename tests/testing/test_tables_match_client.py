"""The emulator's own tables (``testing/api_pages.py``) against the client's (``client/codes.py``, the
non-editable list in ``client/fields.py``, the client's rate limits, paths, statuses and user id types).

Both are written from the API pages, separately, so a wrong entry on either side shows up here by name instead
of passing every test because the server repeats the client's mistake.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow_provider_feishu_corehr.client import codes, fields, models
from airflow_provider_feishu_corehr.testing import api_pages


def client_tables() -> dict[str, Any]:
    return {
        "codes": {
            endpoint.value: {code: (info.http_status, info.msg) for code, info in codes.BY_ENDPOINT[endpoint].items()}
            for endpoint in codes.Endpoint
        },
        "common": {code: (info.http_status, info.msg) for code, info in codes.COMMON.items()},
        "paths": {endpoint.value: endpoint.path for endpoint in codes.Endpoint},
        "rate_limits": {endpoint.value: endpoint.default_rate_limit for endpoint in codes.Endpoint},
        "not_editable": set(fields.NON_EDITABLE_FIELDS),
        "statuses": list(models.OFFBOARDING_STATUSES),
        "user_id_types": list(models.USER_ID_TYPES),
        "max_update_entries": fields.MAX_UPDATE_ENTRIES,
        "max_text_length": fields.MAX_TEXT_LENGTH,
    }


def emulator_tables() -> dict[str, Any]:
    return {
        "codes": {name: dict(table) for name, table in api_pages.BY_ENDPOINT.items()},
        "common": dict(api_pages.COMMON),
        "paths": dict(api_pages.PATHS),
        "rate_limits": dict(api_pages.RATE_LIMITS),
        "not_editable": set(api_pages.NOT_EDITABLE),
        "statuses": list(api_pages.STATUSES),
        "user_id_types": list(api_pages.USER_ID_TYPES),
        "max_update_entries": api_pages.MAX_UPDATE_ENTRIES,
        "max_text_length": api_pages.MAX_MULTI_LINE,
    }


def _keyed(where: str, client: dict[Any, Any], emulator: dict[Any, Any]) -> list[str]:
    found = []
    for key in sorted(set(client) | set(emulator), key=str):
        if key not in emulator:
            found.append(f"{where} {key}: only the client has it ({client[key]!r})")
        elif key not in client:
            found.append(f"{where} {key}: only the emulator has it ({emulator[key]!r})")
        elif client[key] != emulator[key]:
            found.append(f"{where} {key}: client {client[key]!r} != emulator {emulator[key]!r}")
    return found


def differences(client: dict[str, Any], emulator: dict[str, Any]) -> list[str]:
    """Every difference between the two sets of tables, one readable line each."""
    found: list[str] = []
    for endpoint in sorted(set(client["codes"]) | set(emulator["codes"])):
        found += _keyed(f"code on {endpoint}", client["codes"].get(endpoint, {}), emulator["codes"].get(endpoint, {}))
    found += _keyed("common code", client["common"], emulator["common"])
    found += _keyed("path of", client["paths"], emulator["paths"])
    found += _keyed("rate limit of", client["rate_limits"], emulator["rate_limits"])
    for name in sorted(client["not_editable"] - emulator["not_editable"]):
        found.append(f"not-editable field {name}: only the client lists it")
    for name in sorted(emulator["not_editable"] - client["not_editable"]):
        found.append(f"not-editable field {name}: only the emulator lists it")
    for key in ("statuses", "user_id_types", "max_update_entries", "max_text_length"):
        if client[key] != emulator[key]:
            found.append(f"{key}: client {client[key]!r} != emulator {emulator[key]!r}")
    return found


def test_the_emulator_tables_agree_with_the_client_tables() -> None:
    found = differences(client_tables(), emulator_tables())
    assert not found, "tables differ:\n" + "\n".join(found)


def test_every_kind_of_difference_is_named() -> None:
    emulator = copy.deepcopy(emulator_tables())
    emulator["codes"]["revoke"][1160204] = (400, "can not be withdrawn at the same time")
    del emulator["codes"]["edit"][1160625]
    emulator["codes"]["search"][1160105] = (400, "invented")
    emulator["common"][99991663] = (401, emulator["common"][99991663][1])
    emulator["paths"]["edit"] = "/open-apis/corehr/v1/offboardings/edit"
    emulator["rate_limits"]["search"] = (100, 1.0)
    emulator["not_editable"] = (emulator["not_editable"] - {"sign_type"}) | {"offboarding_date"}
    emulator["statuses"] = emulator["statuses"][:-1]
    emulator["max_update_entries"] = 1000

    found = differences(client_tables(), emulator)

    assert found == [
        "code on edit 1160625: only the client has it ((400, 'offboarding does not exist'))",
        "code on revoke 1160204: client (400, 'can not been withrawn in the same time') != emulator "
        "(400, 'can not be withdrawn at the same time')",
        "code on search 1160105: only the emulator has it ((400, 'invented'))",
        "common code 99991663: client (400, 'Invalid access token for authorization. Please make a request with "
        "token attached.') != emulator (401, 'Invalid access token for authorization. Please make a request with "
        "token attached.')",
        "path of edit: client '/open-apis/corehr/v2/offboardings/edit' != emulator "
        "'/open-apis/corehr/v1/offboardings/edit'",
        "rate limit of search: client (100, 60.0) != emulator (100, 1.0)",
        "not-editable field sign_type: only the client lists it",
        "not-editable field offboarding_date: only the emulator lists it",
        "statuses: client ['Approving', 'Approved', 'Offboarded', 'Rejected', 'Withdrawn', 'NoNeedApproval'] != "
        "emulator ['Approving', 'Approved', 'Offboarded', 'Rejected', 'Withdrawn']",
        "max_update_entries: client 10000 != emulator 1000",
    ]


def test_the_emulator_imports_nothing_from_the_client_tables() -> None:
    """The server's answers come from its own tables: no module of ``testing/`` reads ``client.codes``,
    ``client.fields`` or ``client.models``."""
    from pathlib import Path

    package = Path(api_pages.__file__).parent
    offenders = [
        f"{path.relative_to(package)}: {line.strip()}"
        for path in sorted(package.rglob("*.py"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.lstrip().startswith(("from airflow_provider_feishu_corehr.client", "import airflow_provider_feishu"))
    ]
    assert offenders == []
