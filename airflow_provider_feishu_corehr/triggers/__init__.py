"""Triggers of the Feishu People (CoreHR) provider (run in the triggerer; read only)."""
