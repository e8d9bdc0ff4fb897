"""Sensors of the Feishu People (CoreHR) provider."""
