"""Errors of the emulator's own API (seed data, control calls, configuration)."""

from __future__ import annotations


class EmulatorError(ValueError):
    """A bad argument to the emulator: configuration, control call or fault. The message names the problem."""


class SeedError(EmulatorError):
    """Seed data (a record, the schema or the seed file) is invalid. The message names the record and field."""


class UnknownOffboardingError(EmulatorError):
    """A control call named an offboarding id the emulator does not hold."""
