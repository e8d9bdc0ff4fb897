"""App ids of emulators started by the pytest fixtures and by :func:`~.dags.run_dag`: one rule, one home.

Each such emulator gets its own app id (``cli_emulator_<8 hex>``, secret ``emulator-secret``). Token caches that
live for the whole process and are keyed by app id only (lark-oapi's is) would otherwise hand a second emulator
the first one's token, which the new emulator refuses (99991663).
"""

from __future__ import annotations

import secrets

APP_SECRET = "emulator-secret"


def fresh_apps() -> dict[str, str]:
    """A one-app ``apps`` mapping with an app id no other emulator of this process uses."""
    return {f"cli_emulator_{secrets.token_hex(4)}": APP_SECRET}
