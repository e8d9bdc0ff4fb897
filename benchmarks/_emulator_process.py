"""Run the Feishu emulator in its own process, so its work does not weigh on the measured process.

``EmulatorProcess(employments=..., offboardings=...)`` starts it (documented rate limits unless told otherwise),
seeds the records, and answers :meth:`counts` (requests per endpoint and HTTP 429s) and :meth:`edit_times`
(emulator clock of every answered edit) through a pipe.
"""

from __future__ import annotations

import multiprocessing
from typing import Any


def _serve(pipe: Any, limits: Any, employments: list[str], offboardings: int) -> None:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

    with FeishuEmulator(rate_limits=limits) as emu:
        for eid in employments:
            emu.add_offboarding(employment_id=eid, status="Approving")
        edit_ids = [emu.add_offboarding(employment_id=f"69400000000{n:08d}") for n in range(offboardings)]
        pipe.send({"conn_json": emu.airflow_conn_json(), "edit_ids": edit_ids})
        while True:
            command = pipe.recv()
            if command == "counts":
                pipe.send(
                    {
                        "search": emu.request_count("search"),
                        "edit": emu.request_count("edit"),
                        "token": emu.request_count("token"),
                        "search_429": emu.request_count("search", http_status=429),
                        "edit_429": emu.request_count("edit", http_status=429),
                    }
                )
            elif command == "edit_times":
                pipe.send([r.at for r in emu.requests if r.endpoint == "edit" and r.http_status == 200])
            elif command == "reset":
                emu.reset_counters()
                pipe.send(True)
            else:
                return


class EmulatorProcess:
    """The emulator in a child process.

    :param employments: employment ids to give one ``Approving`` offboarding each (sensors watch them).
    :param offboardings: how many more offboardings to add for edits (their ids are in :attr:`edit_ids`).
    :param limits: the emulator's ``rate_limits`` (``None``: the documented ones).
    """

    def __init__(self, employments: list[str], offboardings: int = 0, limits: Any = None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipe, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, limits, employments, offboardings), daemon=True)
        self._process.start()
        info = self._pipe.recv()
        self.conn_json: str = info["conn_json"]
        self.edit_ids: list[str] = info["edit_ids"]

    def _ask(self, command: str) -> Any:
        self._pipe.send(command)
        return self._pipe.recv()

    def counts(self) -> dict[str, int]:
        """Requests the emulator answered so far, per endpoint, and its HTTP 429 answers."""
        return dict(self._ask("counts"))

    def edit_times(self) -> list[float]:
        """Emulator clock of every edit answered with HTTP 200."""
        return list(self._ask("edit_times"))

    def reset(self) -> None:
        """Forget the requests counted so far."""
        self._ask("reset")

    def stop(self) -> None:
        self._pipe.send("stop")
        self._process.join(timeout=10)
