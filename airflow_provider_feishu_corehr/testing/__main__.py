"""Entry point of ``python -m airflow_provider_feishu_corehr.testing`` (see :mod:`.cli`)."""

from __future__ import annotations

import sys

from airflow_provider_feishu_corehr.testing.cli import main

if __name__ == "__main__":
    sys.exit(main())
