"""Apache Airflow provider for Feishu People (CoreHR) offboardings."""

from __future__ import annotations

__version__ = "0.1.0"  # the one source: pyproject.toml and get_provider_info read it
__all__ = ["__version__"]
