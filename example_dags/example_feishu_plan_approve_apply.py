"""Review offboarding corrections before they are written: plan, human approval, apply exactly the plan, report.

The story: the nightly corrections export of another HR system (``data/offboarding_corrections_plan.csv``, one
row per field: ``offboarding_id,employment_id,field_name,value``) re-sends values Feishu often holds already.
Instead of writing everything, this DAG

1. ``plan_corrections``: :class:`EditOffboardingOperator` with ``plan_only=True`` takes the rows grouped into
   records ``{"offboarding_id", "employment_id", "update_data"}`` (the macro ``corrections`` reads the file when
   the task renders), reads every record's current values (one search per 100 employments) and returns the plan:
   per field before -> after, ``changed``, ``unchanged`` or ``unknown``; nothing is written;
2. ``summarize_plan``: renders the plan as Markdown;
3. ``approve_plan``: Airflow's human-in-the-loop ``ApprovalOperator`` shows that summary and waits for a person
   (Airflow 3.1+; "Reject" skips the apply step);
4. ``apply_plan``: :class:`EditOffboardingOperator` with ``plan=`` writes exactly the approved plan. Right before
   writing it reads the records again: a record that moved since the plan is not written (outcome
   ``conflict``), one that already holds the planned values is ``unchanged``; ``verify=True`` reads the written
   records back. A plan made in privacy mode (the connection extra ``privacy``, docs/privacy.md) holds hashes,
   not values: the macro ``records_for_plan`` then gives the records of the same file again, and each value must
   hash to the approved one; for a plan in the clear it gives nothing (the plan holds the values);
5. ``report``: counts per outcome, the conflicts and the verification (runs also when the apply failed). After a
   rejection it fails with "plan rejected by <who>: nothing was written to Feishu", so a rejected run is not
   green like an applied one.

On Airflow before 3.1 there is no ``ApprovalOperator``: the file still parses but defines no DAG (applying
corrections without the approval step is not offered). Params: ``feishu_conn_id`` and ``corrections_file`` (a CSV
path; empty means the file shipped with this example).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, Param, dag, task

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

try:
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    HAS_APPROVAL = True
except (ImportError, AirflowException):  # Airflow < 3.1 (or providers-standard without human-in-the-loop)
    HAS_APPROVAL = False

SHIPPED_CORRECTIONS = Path(__file__).parent / "data" / "offboarding_corrections_plan.csv"


def corrections(corrections_file: str) -> list[dict[str, Any]]:
    """Group the CSV rows into ``[{"offboarding_id", "employment_id", "update_data": {field: value}}]``.

    A macro, read when a task renders: the values never go through an upstream task's XCom.
    """
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


def records_for_plan(corrections_file: str, plan: Any) -> list[dict[str, Any]] | None:
    """The records again for a plan made in privacy mode (it holds hashes); ``None`` for a plan in the clear.

    :param corrections_file: the CSV path (empty: the shipped file).
    :param plan: the plan task's XCom.
    """
    return corrections(corrections_file) if isinstance(plan, dict) and plan.get("privacy") is True else None


@task
def summarize_plan(plan: Any) -> str:
    """The plan as Markdown for the approver: refused records first, then the fields to write and those that
    already hold their value, by label, in plain words (``render_plan``)."""
    return EditOffboardingOperator.render_plan(plan)


@task(trigger_rule="all_done")
def report(outcomes: Any, ti: Any = None) -> dict[str, Any]:
    """Counts per outcome, conflicts and verification of the apply step.

    When the apply step did not run this task fails, so the run shows that nothing was applied: "plan rejected by
    <who>: nothing was written" after a rejection, else that an earlier step did not succeed. (It reads the
    approval's answer from XCom rather than taking it as an argument: a task downstream of the approval would be
    skipped by "Reject" together with the apply step.)

    :param outcomes: the apply step's XCom (``None`` when it did not run).
    :param ti: the task instance (given by Airflow), to read the approval's answer (``chosen_options``,
        ``responded_by_user``).
    """
    if outcomes is None:
        approval = ti.xcom_pull(task_ids="approve_plan") if ti is not None else None
        answer = approval if isinstance(approval, dict) else {}
        if "Reject" in (answer.get("chosen_options") or ()):  # ApprovalOperator.REJECT
            user = answer.get("responded_by_user") or {}
            who = user.get("name") or user.get("id") or "an approver"
            raise AirflowFailException(f"plan rejected by {who}: nothing was written to Feishu")
        raise AirflowFailException("plan not applied: an earlier step did not succeed; nothing was written")
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
        user_defined_macros={"corrections": corrections, "records_for_plan": records_for_plan},
        render_template_as_native_obj=True,  # the macros' lists reach the operators as they are
        doc_md=__doc__,
    )
    def example_feishu_plan_approve_apply() -> None:
        plan = EditOffboardingOperator(
            task_id="plan_corrections",
            offboardings="{{ corrections(params.corrections_file) }}",
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
            offboardings="{{ records_for_plan(params.corrections_file, ti.xcom_pull(task_ids='plan_corrections')) }}",
            verify=True,
            feishu_conn_id="{{ params.feishu_conn_id }}",
        )
        summary >> approve >> apply
        report(apply.output)

    plan_dag = example_feishu_plan_approve_apply()
