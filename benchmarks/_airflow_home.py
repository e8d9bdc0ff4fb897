"""Give a benchmark a throw-away ``AIRFLOW_HOME`` unless the caller set one; removed when the script exits."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile


def use_temporary_airflow_home() -> None:
    """Set ``AIRFLOW_HOME`` (and quiet Airflow logs) before Airflow is imported; never touch ``~/airflow``."""
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    if "AIRFLOW_HOME" in os.environ:
        return
    home = tempfile.mkdtemp(prefix="feishu-bench-")
    os.environ["AIRFLOW_HOME"] = home
    atexit.register(shutil.rmtree, home, ignore_errors=True)
