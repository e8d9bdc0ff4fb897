"""Airflow hooks of the Feishu CoreHR provider."""
