"""Apply a file of offboarding corrections to Feishu: one task for all records, or one mapped task per record.

The story: a nightly export from another HR system lists corrections to offboardings already in Feishu
(a moved last day, a missing explanation, custom fields). ``data/offboarding_corrections.csv`` next to this
file stands for that export: one row per field, ``offboarding_id,field_name,value``.

Two DAGs share the same three steps:

* ``example_feishu_batch_corrections``: ``parse_corrections`` groups the rows into records
  ``{"offboarding_id", "update_data"}``; one :class:`EditOffboardingOperator` task applies them all
  (``offboardings=``; records run concurrently within the edit endpoint's rate limit, and one bad record
  does not stop the others); ``report_outcomes`` reads the operator's XCom and returns the counts and the
  failed records.
* ``example_feishu_batch_corrections_mapped``: the same records through dynamic task mapping
  (``.partial().expand_kwargs()``), one task instance per record, so each record can be retried or cleared on
  its own in the UI.

``report_outcomes`` runs even when some corrections failed (``trigger_rule="all_done"``): the operator pushes
every record's outcome before it fails the task. The report then fails too, so the DAG run shows the failure.
Which form to choose: see "Batches or mapping" in the README.

Params: ``feishu_conn_id`` (connection of type ``feishu``) and ``corrections_file`` (a CSV path; empty means
the file shipped with this example).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import AirflowFailException, Param, dag, get_current_context, task

from airflow_provider_feishu_corehr.operators.offboarding import EditOffboardingOperator

SHIPPED_CORRECTIONS = Path(__file__).parent / "data" / "offboarding_corrections.csv"


def _params() -> dict[str, Param]:
    return {
        "feishu_conn_id": Param("feishu_default", type="string", description="Airflow connection of type feishu"),
        "corrections_file": Param(
            "", type="string", description="CSV offboarding_id,field_name,value; empty: the file shipped here"
        ),
    }


@task
def parse_corrections(corrections_file: str) -> list[dict[str, Any]]:
    """Group the CSV rows by offboarding into ``[{"offboarding_id": ..., "update_data": {field: value}}]``."""
    path = Path(corrections_file) if corrections_file else SHIPPED_CORRECTIONS
    records: dict[str, dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            offboarding_id = (row.get("offboarding_id") or "").strip()
            field_name = (row.get("field_name") or "").strip()
            if not offboarding_id or not field_name or row.get("value") is None:
                raise ValueError(f"{path.name} line {line}: offboarding_id, field_name and value are required")
            fields = records.setdefault(offboarding_id, {})
            if field_name in fields:
                raise ValueError(f"{path.name} line {line}: {field_name} is given twice for {offboarding_id}")
            fields[field_name] = row["value"]
    return [{"offboarding_id": oid, "update_data": fields} for oid, fields in records.items()]


@task(trigger_rule="all_done", multiple_outputs=False)
def report_outcomes(outcomes: Any) -> dict[str, Any]:
    """Summarize the edit outcomes: counts per outcome and the failed records with code, message and log id.

    ``outcomes`` is the operator's XCom envelope (``{"operation", "mode", "total", "counts", "records", ...}``,
    ``docs/xcom.md``) or, from the mapped task, the list of the mapped tasks' envelopes (same shape). The summary
    is the XCom ``return_value``; when a correction failed, it is pushed and then the task fails too, so the DAG
    run is marked failed (a run that corrected nothing for some records must not look green).
    """
    # The mapped task's XComs come as a lazy sequence: one slice reads them all (iterating it would ask for one
    # item past the end, which Airflow 3's API answers with a 404 that the scheduler logs).
    envelopes = [outcomes] if isinstance(outcomes, dict) else [e for e in outcomes[:] if e is not None]
    records = [record for envelope in envelopes for record in envelope["records"]]
    counts: dict[str, int] = {}
    for record in records:
        counts[record["outcome"]] = counts.get(record["outcome"], 0) + 1
    failed = [
        {"offboarding_id": r["offboarding_id"], **{k: r["error"][k] for k in ("code", "message", "log_id")}}
        for r in records
        if r["outcome"] == "failed"
    ]
    edited = sorted(r["offboarding_id"] for r in records if r["outcome"] == "edited")
    summary = {"total": len(records), "counts": counts, "edited": edited, "failed": failed}
    if failed:
        get_current_context()["ti"].xcom_push(key="return_value", value=summary)
        ids = ", ".join(f"{f['offboarding_id']} (code {f['code']}, log id {f['log_id']})" for f in failed)
        raise AirflowFailException(f"{len(failed)} of {len(records)} correction(s) failed: {ids}")
    return summary


@dag(
    dag_id="example_feishu_batch_corrections",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "feishu"],
    params=_params(),
    doc_md=__doc__,
)
def example_feishu_batch_corrections() -> None:
    corrections = parse_corrections(corrections_file="{{ params.corrections_file }}")
    apply_all = EditOffboardingOperator(
        task_id="apply_corrections",
        offboardings=corrections,
        feishu_conn_id="{{ params.feishu_conn_id }}",
    )
    report_outcomes(apply_all.output)


@dag(
    dag_id="example_feishu_batch_corrections_mapped",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "feishu"],
    params=_params(),
    doc_md=__doc__,
)
def example_feishu_batch_corrections_mapped() -> None:
    corrections = parse_corrections(corrections_file="{{ params.corrections_file }}")
    apply_each = EditOffboardingOperator.partial(
        task_id="apply_correction",
        feishu_conn_id="{{ params.feishu_conn_id }}",
    ).expand_kwargs(corrections)
    report_outcomes(apply_each.output)


batch_dag = example_feishu_batch_corrections()
mapped_dag = example_feishu_batch_corrections_mapped()
