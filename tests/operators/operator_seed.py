"""Offboarding and employment ids of the emulator's default seed used by the operator tests."""

from __future__ import annotations

# Offboardings of the emulator's default seed (see its module docstring).
APPROVED = "7095671727698478604"
APPROVING = "7095671727698478605"
OFFBOARDED = "7095671727698478606"
REJECTED = "7095671727698478607"
WITHDRAWN = "7095671727698478608"
NO_NEED_APPROVAL = "7095671727698478609"
EDITABLE = "7095671727698478623"  # a plain Approved record: editable (an Offboarded one answers 1160631)
UNKNOWN = "7000000000000000001"
EMPLOYMENT = "6982509313466189341"
