"""Records of the plan/apply tests: a batch of editable offboardings with employment ids in the emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_feishu_corehr.testing import FeishuEmulator

# Current values of every batch record (flat emulator form); the corrections below change some of them.
BASE_VALUES: dict[str, Any] = {
    "offboarding_date": "2027-06-30",
    "reason": "reason_personal",
    "retain_account": False,
    "reason_explanation": "Moving to another city.",
    "handover_note__c": "Handover to the platform team",
    "severance_months__c": 2,
    "exit_tags__c": ["tag_alumni", "tag_rehire_ok"],
    "exit_channel__c": "channel_hr",
    "exit_interview_done__c": True,
    "exit_interview_time__c": "2026-06-01 10:00:00",
    "handover_contact__c": "6893014062142064136",
}


class Batch:
    """The emulator and the ids of the records added for a test (``ids[i]`` belongs to ``employments[i]``)."""

    def __init__(self, emu: FeishuEmulator, size: int) -> None:
        self.emu = emu
        self.employments = [f"61000000000000{i:05d}" for i in range(size)]
        self.ids = [emu.add_offboarding(employment_id=e, **BASE_VALUES) for e in self.employments]

    def records(self, update: dict[str, Any], *, count: int | None = None) -> list[dict[str, Any]]:
        """Correction records ``{"offboarding_id", "employment_id", "update_data"}`` for the first ``count``."""
        pairs = list(zip(self.ids, self.employments, strict=True))[:count]
        return [{"offboarding_id": o, "employment_id": e, "update_data": dict(update)} for o, e in pairs]

    def value(self, offboarding_id: str, field: str) -> Any:
        return self.emu.record(offboarding_id).get(field)
