"""Feishu CoreHR emulator (work in progress)."""

from __future__ import annotations
