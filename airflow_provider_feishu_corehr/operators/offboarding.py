"""The public operators, where DAG files import them from: revoke (:mod:`.revoke`) and edit (:mod:`.edit`)."""

from __future__ import annotations

from airflow_provider_feishu_corehr._arguments import InvalidOperatorArgumentError
from airflow_provider_feishu_corehr.operators.edit import EditOffboardingOperator
from airflow_provider_feishu_corehr.operators.revoke import RevokeOffboardingOperator

__all__ = ["EditOffboardingOperator", "InvalidOperatorArgumentError", "RevokeOffboardingOperator"]
