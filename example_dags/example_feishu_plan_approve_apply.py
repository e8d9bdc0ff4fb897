"""Review offboarding corrections before they are written: plan, human approval, apply exactly the plan, report.

The story: the nightly corrections export of another HR system (``data/offboarding_corrections_plan.csv``, one
row per field: ``offboarding_id,employment_id,field_name,value``) re-sends values Feishu often holds already.
Instead of writing everything, this DAG

1. ``parse_corrections``: groups the rows into records ``{"offboarding_id", "employment_id", "update_data"}``;
2. ``plan_corrections``: :class:`EditOffboardingOperator` with ``plan_only=True`` reads every record's current
   values (one search per 100 employments) and returns the plan: per field before -> after, ``changed``,
   ``unchanged`` or ``unknown``; nothing is written;
3. ``summarize_plan``: renders the plan as Markdown;
4. ``approve_plan``: Airflow's human-in-the-loop ``ApprovalOperator`` shows that summary and waits for a person
   (Airflow 3.1+; "Reject" skips the apply step);
5. ``apply_plan``: :class:`EditOffboardingOperator` with ``plan=`` writes exactly the approved plan. Right before
   writing it reads the records again: a record that moved since the plan is not written (outcome
   ``conflict``), one that already holds the planned values is ``unchanged``; ``verify=True`` reads the written
   records back;
6. ``report``: counts per outcome, the conflicts and the verification (runs also when the apply failed).

On Airflow before 3.1 there is no ``ApprovalOperator``: the file still parses but defines no DAG (applying
corrections without the approval step is not offered). Params: ``feishu_conn_id`` and ``corrections_file`` (a CSV
path; empty means the file shipped with this example).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import AirflowException, Param, dag, task

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

try:
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    HAS_APPROVAL = True
except (ImportError, AirflowException):  # Airflow < 3.1 (or providers-standard without human-in-the-loop)
    HAS_APPROVAL = False

SHIPPED_CORRECTIONS = Path(__file__).parent / "data" / "offboarding_corrections_plan.csv"


@task
def parse_corrections(corrections_file: str) -> list[dict[str, Any]]:
    """Group the CSV rows into ``[{"offboarding_id", "employment_id", "update_data": {field: value}}]``."""
    path = Path(corrections_file) if corrections_file else SHIPPED_CORRECTIONS
    records: dict[str, dict[str, Any]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            offboarding_id = (row.get("offboarding_id") or "").strip()
            employment_id = (row.get("employment_id") or "").strip()
            field_name = (row.get("field_name") or "").strip()
            if not offboarding_id or not employment_id or not field_name or row.get("value") is None:
                raise ValueError(f"{path.name} line {line}: every column is required")
            record = records.setdefault(
                offboarding_id, {"offboarding_id": offboarding_id, "employment_id": employment_id, "update_data": {}}
            )
            if record["employment_id"] != employment_id or field_name in record["update_data"]:
                raise ValueError(f"{path.name} line {line}: {offboarding_id} repeats a field or changes employment")
            record["update_data"][field_name] = row["value"]
    return list(records.values())


@task
def summarize_plan(plan: Any) -> str:
    """The plan as Markdown for the approver (counts, then one row per field to write)."""
    return EditOffboardingOperator.render_plan(plan)


@task(trigger_rule="all_done")
def report(outcomes: Any) -> dict[str, Any]:
    """Counts per outcome, conflicts and verification of the apply step; ``applied`` False when it did not run."""
    if outcomes is None:
        return {"applied": False}
    conflicts = [r["offboarding_id"] for r in outcomes["records"] if r["outcome"] == "conflict"]
    return {
        "applied": True,
        "counts": outcomes["counts"],
        "conflicts": conflicts,
        "verification": outcomes.get("verification"),
    }


if HAS_APPROVAL:

    @dag(
        dag_id="example_feishu_plan_approve_apply",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["example", "feishu"],
        params={
            "feishu_conn_id": Param("feishu_default", type="string", description="Airflow connection of type feishu"),
            "corrections_file": Param(
                "", type="string", description="CSV offboarding_id,employment_id,field_name,value; empty: shipped"
            ),
        },
        doc_md=__doc__,
    )
    def example_feishu_plan_approve_apply() -> None:
        corrections = parse_corrections(corrections_file="{{ params.corrections_file }}")
        plan = EditOffboardingOperator(
            task_id="plan_corrections",
            offboardings=corrections,
            plan_only=True,
            feishu_conn_id="{{ params.feishu_conn_id }}",
        )
        summary = summarize_plan(plan.output)
        approve = ApprovalOperator(
            task_id="approve_plan",
            subject="Apply these offboarding corrections to Feishu?",
            body="{{ ti.xcom_pull(task_ids='summarize_plan') }}",
        )
        apply = EditOffboardingOperator(
            task_id="apply_plan",
            plan=plan.output,
            verify=True,
            feishu_conn_id="{{ params.feishu_conn_id }}",
        )
        summary >> approve >> apply
        report(apply.output)

    plan_dag = example_feishu_plan_approve_apply()
