"""Framework-free Feishu client core: no Airflow import anywhere below this package.

The decision code (:mod:`.policy`) is sans-IO; :mod:`.sync` and :mod:`.aio` only do I/O and sleep.
"""
